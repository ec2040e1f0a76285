//! The Archway model: Amazon API Gateway's vocabulary as Rust types.
//!
//! Owns: the file-facing config types (`config`), the YAML/JSON loader that reports every problem
//! with file, line and field (`source`), the validated internal model (`model`), route keys and
//! path templates (`route`), gateway response types (`gateway_response`), and the OpenAPI door:
//! import, export and the fail-closed gate (`openapi`).
//!
//! Must never: do I/O beyond reading the files it is asked to load, panic on user input, or know
//! anything about sockets, stores or the request pipeline.

pub mod config;
pub mod gateway_response;
pub mod model;
pub mod openapi;
pub mod route;
pub mod source;
pub mod template;
pub mod validate;

pub use gateway_response::GatewayResponseType;
pub use model::*;
pub use route::{PathTemplate, RouteKey, RouteMethod, Segment};
pub mod load;
