//! The seam between the UI and the session controller.
//!
//! The controller implements [`Controller`]; the app calls [`Controller::attach`]
//! once on mount with a [`UiHandle`] the controller keeps to push screens later
//! (from WebSocket/WebRTC callbacks), and [`Controller::handle`] for every user action.
//! The controller is the only writer of the [`Screen`]; the UI never changes it.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::Worker;
use yew::Callback;

use super::model::{Screen, UiAction};

/// A change applied to the current screen in place (e.g. append a chat line).
pub type ScreenUpdate = Box<dyn FnOnce(&mut Screen)>;

/// What the controller may do to the UI. Cheap to clone; keep it.
#[derive(Clone)]
pub struct UiHandle {
    pub(super) set: Callback<Screen>,
    pub(super) update: Callback<ScreenUpdate>,
}

impl UiHandle {
    /// Replaces the whole screen.
    pub fn set_screen(&self, screen: Screen) {
        self.set.emit(screen);
    }

    /// Changes the current screen in place, e.g.
    /// `ui.update(|s| if let Screen::Call(c) = s { c.all_encrypted = true })`.
    pub fn update(&self, change: impl FnOnce(&mut Screen) + 'static) {
        self.update.emit(Box::new(change));
    }
}

/// Implemented by the session controller (and by the stub/gallery controllers).
pub trait Controller {
    /// The screen to show before `attach` (decided from the URL, synchronously,
    /// so a guest never glimpses the counsellor's start page).
    fn initial_screen(&self) -> Screen;

    /// Called once when the app is mounted.
    fn attach(&mut self, ui: UiHandle);

    /// Called for every user action. Called synchronously from the click handler
    /// when possible (so `getDisplayMedia` and `play()` see user activation); if the
    /// controller is busy (re-entrant call), the action is queued to a microtask.
    fn handle(&mut self, action: UiAction);

    /// The frame-crypto worker the app started, once it answered.
    fn worker_ready(&mut self, _worker: Worker) {}

    /// How the guest's German pages address the guest: what her link says
    /// (asked after `initial_screen`; the counsellor's own pages say "Sie").
    fn guest_address(&self) -> confide_shared::link::Address {
        confide_shared::link::Address::Formal
    }

    /// Refuse to run in browsers without end-to-end encryption support (only the
    /// test gallery turns this off).
    fn check_browser_support(&self) -> bool {
        true
    }
}

/// A shared, comparable handle to the controller for Yew props.
#[derive(Clone)]
pub struct ControllerRef(pub(super) Rc<RefCell<Box<dyn Controller>>>);

impl PartialEq for ControllerRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl ControllerRef {
    pub fn new(controller: Box<dyn Controller>) -> Self {
        ControllerRef(Rc::new(RefCell::new(controller)))
    }

    /// Hands an action to the controller, deferring it if the controller is busy.
    pub fn dispatch(&self, action: UiAction) {
        match self.0.try_borrow_mut() {
            Ok(mut controller) => controller.handle(action),
            Err(_) => {
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    this.dispatch(action);
                });
            }
        }
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut dyn Controller) -> R) -> Option<R> {
        self.0
            .try_borrow_mut()
            .ok()
            .map(|mut controller| f(controller.as_mut()))
    }
}
