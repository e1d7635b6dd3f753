//! Counsellor's start page: one sentence about confide and one big button.

use yew::prelude::*;

use crate::app::components::icons::{Icon, icon};
use crate::app::components::release::ReleaseLine;
use crate::app::components::sign_out::SignOut;
use crate::app::i18n::use_strings;
use crate::app::model::UiAction;

#[derive(Properties, PartialEq)]
pub struct StartProps {
    pub on_action: Callback<UiAction>,
}

#[component(StartScreen)]
pub fn start_screen(props: &StartProps) -> Html {
    let strings = use_strings();
    let onclick = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::StartSession))
    };
    html! {
        <section class="card start" aria-labelledby="start-title">
            <h1 id="start-title" tabindex="-1">{ strings.start_title }</h1>
            <p class="lead">{ strings.start_lead }</p>
            <ul class="points">
                { for strings.start_points.iter().map(|point| html! {
                    <li>{ icon(Icon::Check) }<span>{ *point }</span></li>
                }) }
            </ul>
            <button type="button" class="btn btn-primary btn-large" {onclick}
                data-testid="start-session">
                { strings.start_button }
            </button>
            <SignOut on_action={props.on_action.clone()} />
            <ReleaseLine />
        </section>
    }
}
