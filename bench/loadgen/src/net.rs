//! Opening client sockets, from many loopback source addresses when the target is local.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::stats::Res;

/// The gateway allows 50 WebSocket connections per client address; against a loopback gateway each
/// group of 40 watchers connects from its own loopback source address (127.1.x.y), like separate clients.
pub fn source_address(base_url: &str, index: usize) -> Option<IpAddr> {
    let host = base_url.split("://").nth(1)?.split(['/', ':']).next()?;
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let group = index / 40;
    loopback.then(|| IpAddr::V4(Ipv4Addr::new(127, 1, (group / 250) as u8, (group % 250 + 1) as u8)))
}

/// The `host:port` a URL such as `ws://127.0.0.1:8080/ws` points at.
pub fn authority(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// A TCP connection to `target` (`host:port`), from `source` when given, without Nagle's delay.
pub async fn open_socket(target: &str, source: Option<IpAddr>) -> Res<tokio::net::TcpStream> {
    let address = tokio::net::lookup_host(target)
        .await?
        .find(SocketAddr::is_ipv4)
        .ok_or("no IPv4 address")?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    socket.set_nodelay(true)?;
    Ok(socket.connect(address).await?)
}
