//! Account administration: the list with a create form, and one account's page.
pub mod detail;
pub mod list;
pub mod quota_form;
