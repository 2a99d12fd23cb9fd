use std::net::Ipv4Addr;

use surge_ping::{IcmpPacket, Icmpv4Packet};

use super::{Answer, answer};

const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const TARGET: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
const HOST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// An ICMP message as a ping (SOCK_DGRAM) socket hands it over: no IP header.
fn decode(icmp: &[u8], from: Ipv4Addr) -> IcmpPacket {
    let p = Icmpv4Packet::decode(icmp, socket2::Type::DGRAM, from, HOST)
        .unwrap_or_else(|e| panic!("decoding {icmp:?}: {e}"));
    IcmpPacket::V4(p)
}

fn echo(ty: u8, ident: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(b"juknis");
    m
}

/// `ty`/`code` from the router, quoting our echo request to TARGET (IP header and 8 bytes).
fn error_from_router(ty: u8, code: u8) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0, 0, 0, 0, 0];
    let mut ip = vec![0x45, 0, 0, 34, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip.extend_from_slice(&HOST.octets());
    ip.extend_from_slice(&TARGET.octets());
    m.extend_from_slice(&ip);
    m.extend_from_slice(&echo(8, 0x1234, 2)[..8]);
    m
}

#[test]
fn an_echo_reply_is_the_target_answering() {
    assert_eq!(answer(&decode(&echo(0, 0x1234, 2), TARGET)), Answer::Reply);
}

#[test]
fn a_routers_unreachable_is_not_an_answer_from_the_target() {
    // surge-ping gives this packet to the waiter of echo 2 to TARGET, like a reply.
    let packet = decode(&error_from_router(3, 1), ROUTER);
    assert_eq!(packet.real_destination(), std::net::IpAddr::V4(TARGET));
    assert_eq!(
        answer(&packet),
        Answer::Error(
            "198.51.100.1 answered host unreachable instead of 198.51.100.66".to_string()
        )
    );
    let expired = decode(&error_from_router(11, 0), ROUTER);
    assert!(
        matches!(answer(&expired), Answer::Error(m) if m.contains("time exceeded")),
        "{:?}",
        answer(&expired)
    );
}
