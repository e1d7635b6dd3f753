//! Building blocks shared by several screens.

pub mod address;
pub mod centre;
pub mod confirm;
pub mod device_check;
pub mod icons;
pub mod planned;
pub mod qr;
pub mod release;
pub mod sign_out;
pub mod video;
