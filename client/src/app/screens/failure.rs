//! One page for every failure: what happened, what to do, and the way forward.

use yew::prelude::*;

use crate::app::components::centre::CentreInfo;
use crate::app::components::icons::{Icon, icon};
use crate::app::i18n::use_strings;
use crate::app::model::{FailureKind, UiAction};

#[derive(Properties, PartialEq)]
pub struct FailureProps {
    pub kind: FailureKind,
    pub on_action: Callback<UiAction>,
    /// Inside another page (counsellor's camera check): smaller heading.
    #[prop_or_default]
    pub compact: bool,
    /// Offer "start a new session" (counsellor, after the session ended).
    #[prop_or_default]
    pub offer_new_session: bool,
}

#[component(FailureView)]
pub fn failure_view(props: &FailureProps) -> Html {
    let strings = use_strings();
    let text = strings.failure(props.kind);
    let kind = props.kind;

    let offers_retry = matches!(
        kind,
        FailureKind::CameraUnavailable { .. }
            | FailureKind::MicrophoneUnavailable { .. }
            | FailureKind::ConnectionLost { .. }
    );
    let offers_audio_only = matches!(kind, FailureKind::CameraUnavailable { .. });
    let ended = matches!(
        kind,
        FailureKind::SessionEnded | FailureKind::Left | FailureKind::SecurityWarning
    );
    let retrying = matches!(kind, FailureKind::ConnectionLost { retrying: true });
    // Calm information for an ordinary ending, a warning sign only where it is one.
    let (tone, sign) = match kind {
        FailureKind::SessionEnded | FailureKind::Left => ("info", Icon::Check),
        FailureKind::SecurityWarning => ("danger", Icon::Warning),
        _ => ("notice", Icon::Warning),
    };
    let emit = |action: UiAction| {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(action.clone()))
    };

    html! {
        <section class={classes!("card", "failure", tone, props.compact.then_some("compact"))}
            data-testid="failure" data-kind={kind.test_kind()} aria-labelledby="failure-title">
            <div class="failure-sign">{ icon(sign) }</div>
            if props.compact {
                <h2 id="failure-title">{ text.title }</h2>
            } else {
                <h1 id="failure-title" tabindex="-1">{ text.title }</h1>
            }
            <p>{ text.body }</p>
            <p>{ text.todo }</p>
            if !text.steps.is_empty() {
                <ol class="steps">
                    { for text.steps.iter().map(|step| html! { <li>{ *step }</li> }) }
                </ol>
            }
            if retrying {
                <p class="reconnecting" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    { strings.reconnecting }
                </p>
            }
            <div class="actions">
                if offers_audio_only {
                    <button type="button" class="btn btn-primary" onclick={emit(UiAction::AudioOnly)}
                        data-testid="audio-only">
                        { icon(Icon::Mic) }{ strings.audio_only }
                    </button>
                }
                if offers_retry {
                    <button type="button"
                        class={classes!("btn", if offers_audio_only { "btn-secondary" } else { "btn-primary" })}
                        onclick={emit(UiAction::Retry)} data-testid="retry">
                        { strings.retry }
                    </button>
                }
                if ended && props.offer_new_session {
                    <button type="button" class="btn btn-secondary" onclick={emit(UiAction::StartSession)}
                        data-testid="new-session">
                        { strings.new_session }
                    </button>
                }
            </div>
            // Guests see whom to call; after an ending also the crisis lines.
            if !props.compact && !props.offer_new_session {
                <CentreInfo crisis={ended} />
            }
        </section>
    }
}
