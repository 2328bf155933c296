//! The state the comparison and cost panels share (wasm32 only): the price table, the
//! currency and the finished API runs, through [`WorkbenchProvider`].

use std::rc::Rc;

use arbitre_hosted::ProviderId;
use arbitre_pricing::{Currency, ExchangeRate, PriceEntry, PricePerMTok, PriceTable, Usage};
use yew::prelude::*;

/// One finished API run, as the projection uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRun {
    /// Pane index.
    pub pane: usize,
    /// Provider preset.
    pub provider: ProviderId,
    /// Model name.
    pub model: String,
    /// Billed usage.
    pub usage: Usage,
    /// Whether a count was estimated.
    pub estimated: bool,
}

/// What the comparison and cost panels share: the (editable) price table, the display
/// currency and rate, and the latest API runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Workbench {
    /// The price table, builtin plus the visitor's edits and imports.
    pub table: Rc<PriceTable>,
    /// Currency amounts are shown in.
    pub currency: Currency,
    /// EUR/USD rate.
    pub rate: ExchangeRate,
    /// Latest finished run of each API pane.
    pub api_runs: Vec<ApiRun>,
}

impl Default for Workbench {
    fn default() -> Self {
        Self {
            table: Rc::new(PriceTable::builtin().unwrap_or_default()),
            currency: Currency::Usd,
            rate: ExchangeRate::DEFAULT,
            api_runs: Vec::new(),
        }
    }
}

/// Changes to the [`Workbench`].
#[derive(Debug, Clone)]
pub enum WorkbenchAction {
    /// Sets the input or output price of an entry.
    EditPrice {
        /// Provider of the entry.
        provider: String,
        /// Model of the entry.
        model: String,
        /// True for the output price, false for the input price.
        output: bool,
        /// The new price.
        price: PricePerMTok,
    },
    /// Adds or replaces an entry.
    Upsert(Box<PriceEntry>),
    /// Merges an imported table.
    Merge(Box<PriceTable>),
    /// Goes back to the shipped table.
    ResetTable,
    /// Changes the display currency.
    Currency(Currency),
    /// Changes the EUR/USD rate.
    Rate(ExchangeRate),
    /// Records a finished API run (replacing the pane's previous one).
    ApiRun(ApiRun),
}

impl Reducible for Workbench {
    type Action = WorkbenchAction;

    fn reduce(self: Rc<Self>, action: WorkbenchAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            WorkbenchAction::EditPrice { provider, model, output, price } => {
                let mut table = (*next.table).clone();
                if let Some(e) = table.find_mut(&provider, &model) {
                    if output {
                        e.output = price;
                    } else {
                        e.input = price;
                    }
                    e.source = if e.source.ends_with("(edited)") {
                        e.source.clone()
                    } else {
                        format!("{} (edited)", e.source)
                    };
                }
                next.table = Rc::new(table);
            }
            WorkbenchAction::Upsert(entry) => {
                let mut table = (*next.table).clone();
                table.upsert(*entry);
                next.table = Rc::new(table);
            }
            WorkbenchAction::Merge(other) => {
                let mut table = (*next.table).clone();
                table.merge(*other);
                next.table = Rc::new(table);
            }
            WorkbenchAction::ResetTable => next.table = Rc::new(PriceTable::builtin().unwrap_or_default()),
            WorkbenchAction::Currency(c) => next.currency = c,
            WorkbenchAction::Rate(r) => next.rate = r,
            WorkbenchAction::ApiRun(run) => {
                next.api_runs.retain(|r| r.pane != run.pane);
                next.api_runs.push(run);
                next.api_runs.sort_by_key(|r| r.pane);
            }
        }
        Rc::new(next)
    }
}

/// The context handle the panels read the [`Workbench`] through.
pub type WorkbenchContext = UseReducerHandle<Workbench>;

/// Props of [`WorkbenchProvider`].
#[derive(Properties, PartialEq)]
pub struct WorkbenchProps {
    /// The panels (and anything else) that share the workbench.
    #[prop_or_default]
    pub children: Html,
}

/// Shares one [`Workbench`] (price table, currency, API runs) with the panels inside it.
#[component]
pub fn WorkbenchProvider(props: &WorkbenchProps) -> Html {
    let state = use_reducer(Workbench::default);
    html! {
        <ContextProvider<WorkbenchContext> context={state}>{props.children.clone()}</ContextProvider<WorkbenchContext>>
    }
}

#[hook]
pub(crate) fn use_workbench() -> WorkbenchContext {
    let own = use_reducer(Workbench::default);
    use_context::<WorkbenchContext>().unwrap_or(own)
}
