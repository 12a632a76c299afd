//! Widgets shared by the pages.
pub mod chart;
pub mod layout;
pub mod live;
pub mod tasks_indicator;
pub mod widgets;
