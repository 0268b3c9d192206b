//! The heart of wirelab: one interface for every protocol machine, virtual time,
//! the trace the UI draws, and the simulator that turns machine outputs into that trace.
//!
//! Nothing here performs I/O or reads a clock: time and randomness are passed in, so
//! the same code runs natively (server, tests, benches) and in the browser as Wasm, and
//! the same seed always gives the same run.

pub mod annotate;
pub mod checksum;
pub mod diagram;
pub mod escape;
pub mod export;
pub mod lines;
pub mod machine;
pub mod rng;
pub mod sim;
pub mod stream;
pub mod time;
pub mod trace;

pub use annotate::{Annotation, Field};
pub use diagram::StateDiagram;
pub use machine::{
    DynMachine, Input, LAYER_SEPARATOR, Layers, Machine, Metric, Output, RfcRef, Transition, Transmit, UnknownCommand,
    enters_state,
};
pub use rng::SeededRng;
pub use sim::{LinkConfig, NodeId, Sim, SimError};
pub use stream::StreamApp;
pub use time::Instant;
pub use trace::{Frame, Trace, TraceEvent, TraceKind};
