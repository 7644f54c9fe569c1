//! The address of the person a call acts for, as rate limits count it.

use std::net::IpAddr;

/// The end user's address as rate limits count it: an IPv4 address, or the
/// /64 network of an IPv6 address (one household or phone gets a whole
/// /64, so counting single IPv6 addresses would count nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndUserAddress(IpAddr);

impl EndUserAddress {
    pub fn parse(text: &str) -> Option<EndUserAddress> {
        text.trim().parse().ok().map(EndUserAddress::from_ip)
    }

    pub fn from_ip(ip: IpAddr) -> EndUserAddress {
        EndUserAddress(match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(bits.into())
                }
            },
            v4 => v4,
        })
    }

    /// The address (an IPv6 address reduced to its /64 network).
    pub fn ip(&self) -> IpAddr {
        self.0
    }

    /// The text counters are keyed on.
    pub fn counter_subject(&self) -> String {
        self.0.to_string()
    }
}
