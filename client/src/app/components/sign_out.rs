//! "Abmelden" on the counsellor's start page: asks once before it forgets
//! her sign-in on this device (she needs her link again to sign back in).

use yew::prelude::*;

use crate::app::i18n::use_strings;
use crate::app::model::UiAction;

#[derive(Properties, PartialEq)]
pub struct SignOutProps {
    pub on_action: Callback<UiAction>,
}

#[component(SignOut)]
pub fn sign_out(props: &SignOutProps) -> Html {
    let [label, question, yes, no] = use_strings().sign_out;
    let asking = use_state_eq(|| false);
    let set = |value: bool| {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(value))
    };
    if !*asking {
        return html! {
            <button type="button" class="btn btn-quiet" onclick={set(true)}
                data-testid="sign-out">{ label }</button>
        };
    }
    let confirm = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::SignOut))
    };
    html! {
        <div class="sign-out" role="group" aria-label={label}>
            <p>{ question }</p>
            <div class="actions">
                <button type="button" class="btn btn-secondary" onclick={confirm}
                    data-testid="sign-out-confirm">{ yes }</button>
                <button type="button" class="btn btn-primary" onclick={set(false)}>{ no }</button>
            </div>
        </div>
    }
}
