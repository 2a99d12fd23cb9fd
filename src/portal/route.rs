//! A route's way to the service, from the topology: the URL and TLS trust a route declares
//! for itself (or its service node's), and the source address or interface a client on that
//! route is bound to. Shared by the gate and the outbox, which each build one client a route.

use super::{Config, Error, Trust};
use crate::topology::{Egress, Node, TlsTrust};

pub fn trust_of(t: &TlsTrust) -> Result<Trust, Error> {
    match t {
        TlsTrust::System => Ok(Trust::System),
        TlsTrust::Fingerprint(hex) => Trust::fingerprint(hex),
        TlsTrust::CaFile(p) => Trust::ca_file(p),
    }
}

/// The URL and TLS trust of `service` on a route: the route's own (`egress.url`,
/// `egress.tls_pin`) where it declares them, else the node's.
pub fn endpoint_of<'a>(service: &'a Node, egress: &'a Egress) -> (Option<&'a str>, &'a TlsTrust) {
    (
        egress.url.as_deref().or(service.url.as_deref()),
        egress.tls.as_ref().unwrap_or(&service.tls),
    )
}

/// Bind a client configuration to a route's way out.
pub fn bind(pc: &mut Config, egress: &Egress) {
    pc.local_address = egress.source;
    pc.interface = egress.interface.clone();
}
