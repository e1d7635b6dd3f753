//! One module per screen.

pub mod appointment;
pub mod call;
pub mod chat;
pub mod failure;
pub mod guest;
pub mod invite;
pub mod start;
