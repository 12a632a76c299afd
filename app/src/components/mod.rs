//! Widgets shared by the pages.
pub mod layout;
pub mod live;
pub mod widgets;
