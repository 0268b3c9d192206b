//! The views. Each takes small `PartialEq` props and reports through `Callback`s.

pub mod app;
pub mod controls;
pub mod endpoints;
pub mod export_bar;
pub mod faults;
pub mod form;
pub mod inspector;
pub mod ladder;
pub mod live;
pub mod live_echo;
pub mod live_http;
pub mod mail_lab;
pub mod narration;
pub mod plots;
pub mod results;
pub mod share_bar;
pub mod socket;
pub mod state_diagram;
pub mod theme;
