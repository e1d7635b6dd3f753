//! "Anrede im Link: Sie / du": the counsellor's choice of how a link's
//! guest pages address the guest (the link carries it, docs/PROTOCOL.md §1).

use confide_shared::link::{Address, Invite};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::i18n::{Lang, Strings, strings_for, use_strings};

/// How a link addresses its guest ("Sie" for anything unreadable).
pub fn address_of(link: &str) -> Address {
    Invite::parse(link)
        .map(|invite| invite.address())
        .unwrap_or_default()
}

/// The texts of the ready message around `link`: its guest's form of address.
pub fn message_strings(lang: Lang, link: &str) -> &'static Strings {
    strings_for(lang, address_of(link))
}

#[derive(Properties, PartialEq)]
pub struct AddressChoiceProps {
    pub value: Address,
    pub on_change: Callback<Address>,
    /// Tells two groups on one page apart (`name` and ids).
    pub group: AttrValue,
}

/// Two radio buttons in a fieldset; arrow keys move between them.
#[component(AddressChoice)]
pub fn address_choice(props: &AddressChoiceProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let radio = |address: Address, label: &'static str, value: &'static str| {
        let id = format!("{}-{value}", props.group);
        let on_change = props.on_change.clone();
        let onchange = Callback::from(move |e: Event| {
            if e.target_unchecked_into::<HtmlInputElement>().checked() {
                on_change.emit(address);
            }
        });
        html! {
            <span class="radio">
                <input type="radio" id={id.clone()} name={props.group.clone()} value={value}
                    checked={props.value == address} {onchange}
                    data-testid={format!("address-{value}")} />
                <label for={id}>{ label }</label>
            </span>
        }
    };
    html! {
        <fieldset class="address-choice" data-testid="address-choice">
            <legend>{ host.address_legend }</legend>
            { radio(Address::Formal, host.address_formal, "sie") }
            { radio(Address::Informal, host.address_informal, "du") }
        </fieldset>
    }
}
