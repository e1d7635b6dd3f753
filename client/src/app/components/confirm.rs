//! A button that asks once before it does something that cannot be undone
//! ("Abmelden", "Termin löschen"): nothing irreversible in one click.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ConfirmProps {
    /// Button label, question, "yes", "no".
    pub texts: [&'static str; 4],
    /// `data-testid` of the button; the confirmation is `<testid>-confirm`.
    pub testid: &'static str,
    pub on_confirm: Callback<()>,
}

#[component(ConfirmButton)]
pub fn confirm_button(props: &ConfirmProps) -> Html {
    let [label, question, yes, no] = props.texts;
    let asking = use_state_eq(|| false);
    let set = |value: bool| {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(value))
    };
    if !*asking {
        return html! {
            <button type="button" class="btn btn-quiet" onclick={set(true)}
                data-testid={props.testid}>{ label }</button>
        };
    }
    let confirm = {
        let on_confirm = props.on_confirm.clone();
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| {
            asking.set(false);
            on_confirm.emit(());
        })
    };
    html! {
        <div class="confirm-ask" role="group" aria-label={label}>
            <p>{ question }</p>
            <div class="actions">
                <button type="button" class="btn btn-secondary" onclick={confirm}
                    data-testid={props.testid.to_owned() + "-confirm"}>{ yes }</button>
                <button type="button" class="btn btn-primary" onclick={set(false)}>{ no }</button>
            </div>
        </div>
    }
}
