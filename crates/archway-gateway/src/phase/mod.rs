//! The request phases, one module each with one entry function. Their order lives in
//! [`crate::pipeline`].

pub mod cors;
pub mod payload;
pub mod route;
pub mod stage;
pub mod usage;
pub mod validate;
