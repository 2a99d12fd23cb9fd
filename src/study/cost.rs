//! What one NIK look-up costs on the link, in bytes: the request and the answer as the portal
//! client and the simulator actually write them, plus HTTP headers, TLS and TCP/IP overhead
//! under stated assumptions (the document prints them).

use crate::nik::Nik;
use crate::portal::{Credentials, KeyCase, request_body};
use crate::sim::{self, Population, found_answer_body};

/// Assumptions about everything around the JSON bodies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assumptions {
    /// HTTP/1.1 request line and headers (POST, Host, Content-Type, Content-Length, ...).
    pub request_headers: usize,
    /// HTTP/1.1 status line and headers of the answer.
    pub response_headers: usize,
    /// TLS 1.3 record overhead per record (5 header + 16 AEAD tag + 1 content type).
    pub tls_record: usize,
    /// TLS 1.3 full handshake toward the OPD (server hello, certificate chain, finished).
    pub handshake_down: usize,
    /// TLS 1.3 full handshake from the OPD (client hello, finished).
    pub handshake_up: usize,
    /// TCP/IPv4 headers per segment, with timestamps.
    pub tcp_ip: usize,
    /// TCP maximum segment size.
    pub mss: usize,
    /// Segments of TCP set-up, tear-down and pure ACKs per look-up, each way.
    pub control_segments: usize,
}

impl Default for Assumptions {
    fn default() -> Self {
        Self {
            request_headers: 180,
            response_headers: 160,
            tls_record: 22,
            handshake_down: 3_000,
            handshake_up: 600,
            tcp_ip: 52,
            mss: 1_448,
            control_segments: 5,
        }
    }
}

/// Bytes of one look-up on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookupCost {
    pub assumptions: Assumptions,
    /// The JSON request body (NIK and credentials).
    pub request_body: usize,
    /// The JSON answer body of a found NIK: the mean over the simulator's population.
    pub answer_body: usize,
    /// Bytes from the OPD toward Dukcapil, all included.
    pub up: usize,
    /// Bytes from Dukcapil toward the OPD, all included.
    pub down: usize,
}

impl LookupCost {
    /// Both directions together.
    pub fn total(&self) -> usize {
        self.up + self.down
    }
}

/// The cost of a look-up on a fresh connection (the usual case at a few hundred look-ups a
/// day: keep-alive connections have timed out between them).
pub fn lookup(a: Assumptions) -> LookupCost {
    let pop = Population::generate(sim::DEFAULT_SEED, None);
    let creds = Credentials {
        user_id: sim::USER.into(),
        password: sim::PASSWORD.into(),
        ip_user: sim::IP_USER.into(),
    };
    let nik = pop.samples().get("found").and_then(|n| Nik::parse(n).ok());
    let request_body = nik
        .map(|n| request_body(&creds, &n, KeyCase::Lower).to_string().len())
        .unwrap_or(90);
    let sizes: Vec<usize> = pop
        .people()
        .filter(|p| p.state == sim::population::State::Active)
        .map(|p| found_answer_body(p).len())
        .collect();
    let answer_body = if sizes.is_empty() {
        900
    } else {
        sizes.iter().sum::<usize>() / sizes.len()
    };
    let wire = |payload: usize, handshake: usize| {
        let record = payload + a.tls_record;
        let segments = record.div_ceil(a.mss) + a.control_segments;
        handshake + record + segments * a.tcp_ip
    };
    LookupCost {
        assumptions: a,
        request_body,
        answer_body,
        up: wire(a.request_headers + request_body, a.handshake_up),
        down: wire(a.response_headers + answer_body, a.handshake_down),
    }
}
