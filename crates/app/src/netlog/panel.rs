//! The network log component (wasm32 only): entries reported by the worker and the panes,
//! plus what the browser's resource timings saw.

use std::rc::Rc;

use arbitre_protocol::NetEntry;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::format;
use crate::netlog::{self, privacy_headline, privacy_summary, url_host};

/// Props of [`PrivacyLog`].
#[derive(Properties, PartialEq)]
pub struct PrivacyProps {
    /// Requests reported by the worker and the API panes.
    pub entries: Vec<NetEntry>,
    /// (start, end) of each local run in ms on the page's `performance.now()` clock; when
    /// given, the headline counts what was sent during them.
    #[prop_or_default]
    pub local_windows: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Observed(Vec<NetEntry>);

impl Reducible for Observed {
    type Action = Vec<NetEntry>;

    fn reduce(self: Rc<Self>, more: Vec<NetEntry>) -> Rc<Self> {
        let mut next = (*self).clone();
        next.0.extend(more);
        Rc::new(next)
    }
}

fn observed_entries(list: &web_sys::PerformanceObserverEntryList) -> Vec<NetEntry> {
    list.get_entries()
        .iter()
        .filter_map(|v| v.dyn_into::<web_sys::PerformanceResourceTiming>().ok())
        .filter(|t| {
            let name = t.name();
            !name.starts_with("data:") && !name.starts_with("blob:")
        })
        .map(|t| NetEntry {
            time_ms: t.start_time(),
            origin: "page".to_string(),
            method: String::new(),
            url: t.name(),
            status: 0,
            bytes_up: 0,
            bytes_down: t.transfer_size().max(t.encoded_body_size()).max(0.0) as u64,
            purpose: format!("seen by the browser ({})", t.initiator_type()),
        })
        .collect()
}

/// A live log of every network request the page and its worker make, with the headline
/// "0 bytes sent to any host during local runs".
#[component]
pub fn PrivacyLog(props: &PrivacyProps) -> Html {
    let observed = use_reducer(Observed::default);
    {
        let dispatcher = observed.dispatcher();
        use_effect_with((), move |_| {
            let callback = Closure::<dyn FnMut(web_sys::PerformanceObserverEntryList, JsValue)>::new(
                move |list: web_sys::PerformanceObserverEntryList, _observer: JsValue| {
                    let entries = observed_entries(&list);
                    if !entries.is_empty() {
                        dispatcher.dispatch(entries);
                    }
                },
            );
            let observer = web_sys::PerformanceObserver::new(callback.as_ref().unchecked_ref()).ok();
            if let Some(obs) = &observer {
                let init = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&init, &"type".into(), &"resource".into());
                let _ = js_sys::Reflect::set(&init, &"buffered".into(), &JsValue::TRUE);
                obs.observe(init.unchecked_ref());
            }
            move || {
                if let Some(obs) = observer {
                    obs.disconnect();
                }
                drop(callback);
            }
        });
    }

    // Observed fetches of the API panes and price imports are already in `entries`.
    let reported: Vec<&str> = props.entries.iter().map(|e| e.url.as_str()).collect();
    let mut all: Vec<NetEntry> = props.entries.clone();
    all.extend(
        observed.0.iter().filter(|o| !(o.purpose.contains("(fetch)") && reported.contains(&o.url.as_str()))).cloned(),
    );
    all.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    let summary = privacy_summary(&all, &props.local_windows);
    let headline = privacy_headline(&summary, !props.local_windows.is_empty());
    let rows = all
        .iter()
        .map(|e| {
            html! {
                <tr data-testid="privacy-row" class={classes!(netlog::is_api_call(e).then_some("api-call"))}>
                    <td class="num">{format::duration_ms(e.time_ms)}</td>
                    <td>{e.origin.clone()}</td>
                    <td>{ if e.method.is_empty() { "—".to_string() } else { e.method.clone() } }</td>
                    <td title={e.url.clone()}><code>{url_host(&e.url)}</code></td>
                    <td class="num">{ if e.status == 0 { "—".to_string() } else { e.status.to_string() } }</td>
                    <td class="num">{format::bytes(e.bytes_up)}</td>
                    <td class="num">{format::bytes(e.bytes_down)}</td>
                    <td>{e.purpose.clone()}</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <section class="card privacy-log" aria-label="Network requests">
            <h2>{"Network log"}</h2>
            <p class="privacy-headline" data-testid="privacy-headline"><strong>{headline}</strong></p>
            <p class="muted small">{format!(
                "{} requests · {} API calls · hosts: {}. Times are since the page opened; the browser hides sizes of some cross-origin responses.",
                summary.requests, summary.api_requests,
                if summary.hosts.is_empty() { "none".to_string() } else { summary.hosts.join(", ") }
            )}</p>
            <div class="table-wrap privacy-wrap">
                <table class="data" data-testid="privacy-log">
                    <thead><tr>
                        <th scope="col">{"Time"}</th><th scope="col">{"Origin"}</th><th scope="col">{"Method"}</th><th scope="col">{"Host"}</th>
                        <th scope="col">{"Status"}</th><th scope="col">{"Up"}</th><th scope="col">{"Down"}</th><th scope="col">{"Why"}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
