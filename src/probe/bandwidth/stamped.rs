//! ICMP echo trains on a socket of their own, with kernel receive timestamps (`SO_TIMESTAMPNS`
//! control messages through `recvmsg`) instead of a user-space clock that a busy machine wakes
//! late: the spacing of a train's replies is the measurement.
//!
//! IPv4 only. A raw socket as root or with CAP_NET_RAW, the unprivileged ICMP (ping) socket
//! otherwise. One train at a time per socket (a lock), so concurrent trains never read each
//! other's replies.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::knee::Echo;

/// IPv4 and ICMP header bytes around the payload.
pub(crate) const HEADERS: u32 = 28;

/// A train's shape: `head` echoes back to back, then `tail` echoes, the first `pace` after the
/// head and each next gap `chirp` times the one before (1: evenly paced).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub head: u32,
    pub tail: u32,
    pub pace: Duration,
    /// ICMP payload bytes of each head echo.
    pub size: u32,
    /// ICMP payload bytes of each tail echo.
    pub tail_size: u32,
    /// Growth of the tail's gaps per echo.
    pub chirp: f64,
    /// How long to wait for more replies after the last one came, at least.
    pub settle: Duration,
}

impl Plan {
    pub(crate) fn len(&self) -> u32 {
        self.head + self.tail
    }

    /// IP bytes out and back when every echo returns.
    #[cfg(test)]
    pub(crate) fn cost(&self) -> u64 {
        2 * (u64::from(self.head) * u64::from(self.size + HEADERS)
            + u64::from(self.tail) * u64::from(self.tail_size + HEADERS))
    }

    /// The send offset of tail echo `j` (0-based) after the head.
    fn due(&self, j: u32) -> Duration {
        if self.chirp <= 1.0 || !self.chirp.is_finite() {
            return self.pace * (j + 1);
        }
        // pace × (1 + c + … + c^j)
        let n = f64::from(j + 1);
        self.pace
            .mul_f64(((self.chirp.powf(n) - 1.0) / (self.chirp - 1.0)).min(1e6))
    }
}

/// The timestamped ICMP socket.
#[derive(Clone)]
pub struct StampedSocket {
    inner: Arc<Inner>,
}

struct Inner {
    /// The ICMP socket, registered with tokio through its datagram socket type (only its
    /// readiness and raw descriptor are used).
    fd: UdpSocket,
    raw: bool,
    busy: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for StampedSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StampedSocket")
            .field("raw", &self.inner.raw)
            .finish()
    }
}

impl StampedSocket {
    /// Opens the IPv4 socket and asks for receive timestamps. Must run inside a tokio runtime.
    pub fn open_v4() -> io::Result<StampedSocket> {
        let (sock, raw) = match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
            Ok(s) => (s, true),
            Err(_) => (
                Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4))?,
                false,
            ),
        };
        sock.set_nonblocking(true)?;
        setsockopt(&sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        // A long train's replies may arrive faster than one task reads them.
        let _ = sock.set_recv_buffer_size(1 << 20);
        Ok(StampedSocket {
            inner: Arc::new(Inner {
                fd: UdpSocket::from_std(std::net::UdpSocket::from(std::os::fd::OwnedFd::from(
                    sock,
                )))?,
                raw,
                busy: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Sends one train and collects its replies: one [`Echo`] per request in send order, with the
    /// reply's kernel receive instant. Waits for the replies until every one is in, or none has
    /// come for `idle` after the last send (four times the largest gap seen, at least the plan's
    /// `settle`), or
    /// `timeout` after the last send.
    pub(crate) async fn train(
        &self,
        dst: Ipv4Addr,
        plan: Plan,
        ident: u16,
        seq_base: u16,
        timeout: Duration,
    ) -> io::Result<Vec<Echo>> {
        let _one = self.inner.busy.lock().await;
        self.drain();
        let n = plan.len() as usize;
        let head_payload = vec![0x5a_u8; plan.size as usize];
        let tail_payload = vec![0x5a_u8; plan.tail_size as usize];
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        let origin = SystemTime::now();
        let mut echoes: Vec<Echo> = Vec::with_capacity(n);
        let mut arrived: Vec<Option<f64>> = vec![None; n];
        let mut got = 0_usize;
        let mut buf = vec![0_u8; 2048 + plan.size.max(plan.tail_size) as usize];
        let start = Instant::now();
        for i in 0..n {
            let in_tail = i as u32 >= plan.head;
            if in_tail {
                let due = start + plan.due(i as u32 - plan.head);
                // Read what arrives while waiting for the next paced send.
                while Instant::now() < due {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        r = self.recv(&mut buf, origin, ident) => {
                            if let Some((seq, at)) = r? {
                                got += self.record(&mut arrived, seq, seq_base, at);
                            }
                        }
                    }
                }
            }
            let seq = seq_base.wrapping_add(i as u16);
            let payload = if in_tail {
                &tail_payload
            } else {
                &head_payload
            };
            let packet = echo_request(ident, seq, payload);
            self.send(&packet, &to).await?;
            echoes.push(Echo {
                bytes: u32::try_from(payload.len()).unwrap_or(u32::MAX) + HEADERS,
                sent: since(origin, SystemTime::now()),
                arrived: None,
            });
        }
        let last_send = Instant::now();
        let hard = last_send + timeout;
        let mut last_arrival = last_send;
        let mut largest_gap = Duration::ZERO;
        let mut prev: Option<f64> = None;
        while got < n {
            let idle = (largest_gap * 4).max(plan.settle);
            let until = hard.min(last_arrival.max(last_send) + idle);
            if got > 0 && Instant::now() >= until || Instant::now() >= hard {
                break;
            }
            match tokio::time::timeout_at(until, self.recv(&mut buf, origin, ident)).await {
                Err(_) if got > 0 => break,
                Err(_) => {
                    if Instant::now() >= hard {
                        break;
                    }
                }
                Ok(r) => {
                    if let Some((seq, at)) = r?
                        && self.record(&mut arrived, seq, seq_base, at) == 1
                    {
                        got += 1;
                        last_arrival = Instant::now();
                        if let Some(p) = prev {
                            largest_gap =
                                largest_gap.max(Duration::from_secs_f64((at - p).max(0.0)));
                        }
                        prev = Some(at);
                    }
                }
            }
        }
        for (e, a) in echoes.iter_mut().zip(arrived) {
            e.arrived = a;
        }
        Ok(echoes)
    }

    fn record(&self, arrived: &mut [Option<f64>], seq: u16, base: u16, at: f64) -> usize {
        let i = seq.wrapping_sub(base) as usize;
        match arrived.get_mut(i) {
            Some(slot @ None) => {
                *slot = Some(at);
                1
            }
            _ => 0,
        }
    }

    /// Throws away whatever is queued from earlier trains.
    fn drain(&self) {
        let mut buf = [0_u8; 2048];
        let fd = self.inner.fd.as_raw_fd();
        while nix::sys::socket::recv(fd, &mut buf, MsgFlags::MSG_DONTWAIT).is_ok_and(|n| n > 0) {}
    }

    async fn send(&self, packet: &[u8], to: &SockAddr) -> io::Result<()> {
        let fd = &self.inner.fd;
        fd.async_io(Interest::WRITABLE, || SockRef::from(fd).send_to(packet, to))
            .await
            .map(drop)
    }

    /// One echo reply of ours: its sequence number and kernel receive instant (seconds since
    /// `origin`); `None` for anything else the socket saw.
    async fn recv(
        &self,
        buf: &mut [u8],
        origin: SystemTime,
        ident: u16,
    ) -> io::Result<Option<(u16, f64)>> {
        let raw = self.inner.raw;
        let fd = &self.inner.fd;
        let (len, stamp) = fd
            .async_io(Interest::READABLE, || {
                let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
                let mut iov = [IoSliceMut::new(&mut *buf)];
                let msg = recvmsg::<()>(
                    fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_DONTWAIT,
                )
                .map_err(io::Error::from)?;
                let mut stamp = None;
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::ScmTimestampns(ts) = c {
                            let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
                            let nanos = u32::try_from(ts.tv_nsec()).unwrap_or(0);
                            stamp = Some(UNIX_EPOCH + Duration::new(secs, nanos));
                        }
                    }
                }
                Ok((msg.bytes, stamp))
            })
            .await?;
        let at = stamp.unwrap_or_else(SystemTime::now);
        // The ping socket's replies are ours by construction; a raw socket sees every echo reply
        // the host receives.
        Ok(parse_reply(&buf[..len.min(buf.len())], raw)
            .filter(|(id, _)| !raw || *id == ident)
            .map(|(_, seq)| (seq, since(origin, at))))
    }
}

fn since(origin: SystemTime, t: SystemTime) -> f64 {
    match t.duration_since(origin) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// An ICMP echo request with its checksum (the ping socket overwrites the identifier).
fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + payload.len());
    p.extend_from_slice(&[8, 0, 0, 0]);
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0_u32;
    for c in data.chunks(2) {
        let word = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The identifier and sequence number of an echo reply (after the IPv4 header on a raw socket).
fn parse_reply(data: &[u8], raw: bool) -> Option<(u16, u16)> {
    let icmp = if raw {
        let ihl = usize::from(data.first()? & 0x0f) * 4;
        data.get(ihl..)?
    } else {
        data
    };
    (icmp.len() >= 8 && icmp[0] == 0).then(|| {
        (
            u16::from_be_bytes([icmp[4], icmp[5]]),
            u16::from_be_bytes([icmp[6], icmp[7]]),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_request_verifies_to_zero() {
        let p = echo_request(0x1234, 7, b"juknis");
        assert_eq!(checksum(&p), 0);
    }

    #[test]
    fn reply_sequence_after_the_ip_header() {
        let mut ip = vec![0x45_u8];
        ip.extend_from_slice(&[0; 19]);
        let mut reply = echo_request(1, 513, b"x");
        reply[0] = 0;
        ip.extend_from_slice(&reply);
        assert_eq!(parse_reply(&ip, true), Some((1, 513)));
        assert_eq!(parse_reply(&reply, false), Some((1, 513)));
        let request = echo_request(1, 9, b"x");
        assert_eq!(parse_reply(&request, false), None, "our own request");
    }
}
