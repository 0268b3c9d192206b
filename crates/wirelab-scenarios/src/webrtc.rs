//! `webrtc-connect`: two browsers open a WebRTC data channel through a signalling server,
//! every step from the offer to the first message ([`wirelab_webrtc::connect`]).

use crate::{Params, new_sim};
use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Instant, Sim, SimError};
use wirelab_webrtc::connect::{Peer, PeerConfig, Role};
use wirelab_webrtc::signalling::Relay;

/// The nodes, in order: the offerer, the signalling server, the answerer.
pub const NODES: [&str; 3] = ["peer-a", "signalling", "peer-b"];
/// Each peer's UDP host candidate (TEST-NET-1, RFC 5737) and its signalling connection.
pub const A_ICE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 54_400);
pub const B_ICE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)), 61_000);
pub const A_SIGNAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49_152);
pub const B_SIGNAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)), 49_152);
pub const SIGNAL_SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 443);
/// Their ids in the room: B joined first (p1), A second (p2), so A, the newcomer, offers
/// (the hub's convention, `wirelab_signal::ServerMsg::Joined`).
pub const A_ID: u64 = 2;
pub const B_ID: u64 = 1;
/// The channel, and what A says on it once it is open.
pub const LABEL: &str = "chat";
pub const MESSAGE: &str = "Hello from A";

fn peer(role: Role, seed: u64) -> Peer {
    let (ice, signalling, me, peer) = match role {
        Role::Offerer => (A_ICE, A_SIGNAL, A_ID, B_ID),
        Role::Answerer => (B_ICE, B_SIGNAL, B_ID, A_ID),
    };
    Peer::new(PeerConfig { role, ice, signalling, server: SIGNAL_SERVER, me, peer, seed, label: LABEL.into() })
}

/// A creates a data channel and an offer; the rest follows by itself, and once the channel
/// is open A sends one message.
pub fn webrtc_connect(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let [a, s, b] = NODES;
    let a = sim.add_node(a, A_ICE.ip(), Box::new(peer(Role::Offerer, params.seed)));
    sim.add_node(s, SIGNAL_SERVER.ip(), Box::new(Relay::new(SIGNAL_SERVER, vec![(A_ID, A_SIGNAL), (B_ID, B_SIGNAL)])));
    sim.add_node(b, B_ICE.ip(), Box::new(peer(Role::Answerer, params.seed)));
    sim.command_at(Instant::ZERO, a, "connect")?;
    sim.command_on_state(a, "channel open", Duration::from_millis(50), &format!("send {MESSAGE}"))?;
    Ok(sim)
}
