//! TEST ONLY (cargo feature `test-hooks`): notes on `<html data-…>` what
//! the page did, for the browser tests: things they cannot observe
//! otherwise (sound and notifications headless, which connection an offer
//! came from).

/// Counts one more `what` (`data-<what>` holds the number).
pub(crate) fn count_in_page(what: &str) {
    if let Some(root) = page_root() {
        let attribute = ["data-", what].concat();
        let before: u32 = root
            .get_attribute(&attribute)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let _ = root.set_attribute(&attribute, &(before + 1).to_string());
    }
}

/// Notes why the page did something (`data-<what>` holds `value`).
pub(crate) fn mark_in_page(what: &str, value: &str) {
    if let Some(root) = page_root() {
        let _ = root.set_attribute(&["data-", what].concat(), value);
    }
}

/// The page's `<html>` element.
fn page_root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}
