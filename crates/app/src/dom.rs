//! Small browser helpers shared by the panels (wasm32 only): key storage, today's date and
//! reading form events.

use arbitre_hosted::{HostedError, ProviderId};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::compare::panes::key_storage_name;

pub(crate) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub(crate) fn stored_key(p: ProviderId) -> Option<String> {
    storage()?.get_item(&key_storage_name(p)).ok()?
}

pub(crate) fn store_key(p: ProviderId, key: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(&key_storage_name(p), key);
    }
}

pub(crate) fn forget_key(p: ProviderId) {
    if let Some(s) = storage() {
        let _ = s.remove_item(&key_storage_name(p));
    }
}

pub(crate) fn today() -> String {
    let iso: String = js_sys::Date::new_0().to_iso_string().into();
    iso.chars().take(10).collect()
}

/// An `oninput` callback that forwards to a handler written for `change` events. Text fields
/// whose state is a plain string update it on every keystroke: Yew resets a field to its
/// state whenever the component re-renders (it compares with the DOM's value), so a field
/// that updated only on `change` lost what was typed if anything re-rendered the page in
/// between, such as a streaming run or a network-log entry.
pub(crate) fn on_each_input(cb: &Callback<Event>) -> Callback<InputEvent> {
    let cb = cb.clone();
    Callback::from(move |e: InputEvent| cb.emit(e.into()))
}

pub(crate) fn input_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

pub(crate) fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

pub(crate) fn checked(e: &Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

pub(crate) fn status_of(e: &HostedError) -> u16 {
    match e {
        HostedError::BadKey { status, .. }
        | HostedError::Server { status, .. }
        | HostedError::BadRequest { status, .. } => *status,
        HostedError::UnknownModel { .. } => 404,
        HostedError::RateLimited { .. } => 429,
        _ => 0,
    }
}
