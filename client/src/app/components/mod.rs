//! Building blocks shared by several screens.

pub mod centre;
pub mod device_check;
pub mod icons;
pub mod qr;
pub mod release;
pub mod sign_out;
pub mod video;
