//! A text field that holds what is being typed until the user commits it.
//!
//! Yew sets an input's DOM value back to the `value` it was rendered with whenever its component
//! re-renders. A field whose state changes only on `change` (Enter, or leaving the field) would
//! therefore lose the half-typed text each time anything else re-renders first: a streaming run,
//! a network-log line, a second pane. [`DraftField`] keeps the typed text as its own state from
//! the first keystroke, renders that, and hands it to its owner only on `change`. When the owner
//! refuses the text (it does not parse), the text stays, marked `aria-invalid`, so the user can
//! see and mend it instead of watching it vanish.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::latest::Latest;

/// What a [`DraftField`] shows and whom it tells.
#[derive(Properties, PartialEq)]
pub struct DraftFieldProps {
    /// The committed value, as the owner's state holds it; shown whenever nothing is being typed.
    pub value: AttrValue,
    /// Called on `change` with the typed text; returns whether the text was taken.
    pub oncommit: Callback<String, bool>,
    /// The input's `type`.
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    /// `data-testid`.
    #[prop_or_default]
    pub testid: Option<AttrValue>,
    /// CSS classes.
    #[prop_or_default]
    pub class: Option<AttrValue>,
    /// `aria-label`, where no `<label>` names the field.
    #[prop_or_default]
    pub label: Option<AttrValue>,
    /// Shown while the field is empty.
    #[prop_or_default]
    pub placeholder: Option<AttrValue>,
    /// The on-screen keyboard to offer (`decimal`, `numeric`).
    #[prop_or_default]
    pub inputmode: Option<AttrValue>,
    /// Lower bound of a number field.
    #[prop_or_default]
    pub min: Option<AttrValue>,
    /// Upper bound of a number field.
    #[prop_or_default]
    pub max: Option<AttrValue>,
    /// Step of a number field.
    #[prop_or_default]
    pub step: Option<AttrValue>,
}

#[derive(Clone, PartialEq)]
struct Draft {
    text: String,
    refused: bool,
}

/// An `<input>` that keeps typed text through re-renders until `change` commits it.
#[function_component(DraftField)]
pub fn draft_field(p: &DraftFieldProps) -> Html {
    let draft = use_state_eq(|| None::<Draft>);
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            let text = e.target_unchecked_into::<HtmlInputElement>().value();
            draft.set(Some(Draft { text, refused: false }));
        })
    };
    let onchange = {
        let (draft, commit) = (draft.clone(), p.oncommit.clone());
        Callback::from(move |e: Event| {
            let text = e.target_unchecked_into::<HtmlInputElement>().value();
            if commit.emit(text.clone()) {
                draft.set(None);
            } else {
                draft.set(Some(Draft { text, refused: true }));
            }
        })
    };
    let (value, refused) = match &*draft {
        Some(d) => (AttrValue::from(d.text.clone()), d.refused),
        None => (p.value.clone(), false),
    };
    html! {
        <input type={p.kind.clone()} {value} {oninput} {onchange}
            data-testid={p.testid.clone()} class={p.class.clone()} aria-label={p.label.clone()}
            placeholder={p.placeholder.clone()} inputmode={p.inputmode.clone()}
            min={p.min.clone()} max={p.max.clone()} step={p.step.clone()}
            aria-invalid={refused.then_some("true")}
            title={refused.then_some("Not taken: this value does not parse; the previous one still applies.")} />
    }
}

/// A [`DraftField`]'s `oncommit` for a field of `state`: `f` applies the typed text to the
/// newest value and says whether it took it; only a taken text sets the state.
pub fn commit_to<T: Clone + 'static>(state: &Latest<T>, f: fn(&mut T, &str) -> bool) -> Callback<String, bool> {
    let state = state.clone();
    Callback::from(move |text: String| {
        let mut next = state.current();
        let taken = f(&mut next, &text);
        if taken {
            state.set(next);
        }
        taken
    })
}

/// Parses `text` (trimmed) into `slot`; false, leaving `slot` as it was, when it does not parse.
pub fn parse_into<T: std::str::FromStr>(slot: &mut T, text: &str) -> bool {
    match text.trim().parse() {
        Ok(v) => {
            *slot = v;
            true
        }
        Err(_) => false,
    }
}
