//! A Yew state handle whose handlers see each other's updates before the next render.

use std::cell::RefCell;
use std::rc::Rc;

use yew::UseStateHandle;

/// A state handle plus a mirror updated synchronously, so that events arriving before the next
/// render build on each other instead of on a stale copy.
#[derive(Clone)]
pub struct Latest<T: Clone + 'static> {
    /// The committed state (what was last rendered).
    pub state: UseStateHandle<T>,
    /// The newest value, updated as soon as a handler sets it.
    pub latest: Rc<RefCell<T>>,
}

impl<T: Clone + 'static> std::ops::Deref for Latest<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.state
    }
}

impl<T: Clone + 'static> Latest<T> {
    /// Pairs a state with its mirror, bringing the mirror up to the rendered value; call it
    /// once per render.
    pub fn synced(state: UseStateHandle<T>, latest: Rc<RefCell<T>>) -> Self {
        *latest.borrow_mut() = (*state).clone();
        Self { state, latest }
    }

    /// The newest value, including updates not rendered yet.
    pub fn current(&self) -> T {
        self.latest.borrow().clone()
    }

    /// Sets the state and the mirror.
    pub fn set(&self, next: T) {
        *self.latest.borrow_mut() = next.clone();
        self.state.set(next);
    }
}
