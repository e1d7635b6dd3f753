//! "Abmelden" on the counsellor's start page: asks once before it forgets
//! her sign-in on this device (she needs her link again to sign back in).

use yew::prelude::*;

use crate::app::components::confirm::ConfirmButton;
use crate::app::i18n::use_strings;
use crate::app::model::UiAction;

#[derive(Properties, PartialEq)]
pub struct SignOutProps {
    pub on_action: Callback<UiAction>,
}

#[component(SignOut)]
pub fn sign_out(props: &SignOutProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let on_confirm = props.on_action.reform(|()| UiAction::SignOut);
    html! {
        <ConfirmButton texts={host.sign_out} testid="sign-out" {on_confirm} />
    }
}
