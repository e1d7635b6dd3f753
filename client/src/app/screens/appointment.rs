//! A guest's appointment pages: too early (the page waits and continues by
//! itself), the counsellor not there yet (the page knocks again), and too
//! late. The controller decides which; times are shown in the browser's
//! local time, in the app's language.

use yew::prelude::*;

use crate::app::components::centre::{CentreInfo, tel, use_centre};
use crate::app::components::icons::{Icon, icon};
use crate::app::i18n::{Lang, use_strings};
use crate::app::model::{AppointmentPage, AppointmentView};
use crate::app::when;

#[derive(Properties, PartialEq)]
pub struct AppointmentProps {
    pub view: AppointmentView,
}

#[component(AppointmentScreen)]
pub fn appointment_screen(props: &AppointmentProps) -> Html {
    let strings = use_strings();
    let lang = use_context::<Lang>().unwrap_or_default();
    let centre = use_centre();
    let starts = when::day(props.view.starts, lang)
        + ", "
        + &when::clock(props.view.starts, lang)
        + strings.appt_clock;
    let page = props.view.page;
    let kind = match page {
        AppointmentPage::Early => "early",
        AppointmentPage::NotThereYet => "not-there-yet",
        AppointmentPage::Over => "appointment-over",
    };
    if page == AppointmentPage::Over {
        return html! {
            <section class="card failure notice" data-testid="failure" data-kind={kind}
                aria-labelledby="failure-title">
                <div class="failure-sign">{ icon(Icon::Warning) }</div>
                <h1 id="failure-title" tabindex="-1">{ strings.appt_over_title }</h1>
                <p data-testid="appointment-time">{ strings.appt_over_was }{ starts }{ "." }</p>
                <p>{ strings.appt_over_todo }</p>
                <CentreInfo />
            </section>
        };
    }
    html! {
        <section class="card waiting" data-testid="appointment" data-kind={kind}
            aria-labelledby="appointment-title">
            <div class="breathe" aria-hidden="true"><span></span></div>
            if page == AppointmentPage::Early {
                <h1 id="appointment-title" tabindex="-1" data-testid="appointment-time">
                    { strings.appt_title }{ starts }
                </h1>
                <p class="lead">{ strings.appt_early_lead }</p>
                <p class="hint" data-testid="appointment-opens">
                    { strings.appt_opens[0] }{ when::clock(props.view.opens, lang) }
                    { strings.appt_clock }{ strings.appt_opens[1] }
                </p>
            } else {
                <h1 id="appointment-title" tabindex="-1">{ strings.appt_wait_title }</h1>
                <p class="lead">{ strings.appt_wait_lead }</p>
                <p class="hint" data-testid="appointment-time">{ strings.appt_title }{ starts }</p>
            }
            if props.view.long {
                if let Some(phone) = centre.phone.as_ref() {
                    <p data-testid="waiting-long">{ strings.waiting_long }{ " " }
                        <a href={tel(phone)}>{ phone.clone() }</a></p>
                }
                <p data-testid="appointment-link-used">{ strings.appt_wait_long }</p>
            }
            <CentreInfo />
        </section>
    }
}
