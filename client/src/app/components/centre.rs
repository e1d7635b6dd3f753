//! The counselling centre's name, phone and web address for guests, and on
//! the end page the crisis lines: from the relay's `/centre.json`
//! (`relay/src/centre.rs`), fetched once per page. Nothing is shown when the
//! relay has none (or the app comes from another origin). Plain text only;
//! the phone is also a `tel:` link. The web address is not a link: a guest
//! who taps it would leave the page she is waiting on.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::app::i18n::use_strings;

/// What `/centre.json` holds (all optional).
#[derive(Clone, Default, PartialEq)]
pub struct Centre {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub url: Option<String>,
    /// (who answers, number)
    pub crisis: Vec<(String, String)>,
}

thread_local! {
    static CACHE: RefCell<Option<Rc<Centre>>> = const { RefCell::new(None) };
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &key.into())
        .ok()?
        .as_string()
        .filter(|s| !s.is_empty())
}

async fn fetch() -> Option<Centre> {
    let window = web_sys::window()?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str("/centre.json"))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if !response.ok() {
        return None;
    }
    let json = JsFuture::from(response.json().ok()?).await.ok()?;
    let crisis = Reflect::get(&json, &"crisis".into())
        .ok()
        .map(|list| js_sys::Array::from(&list))
        .map(|list| {
            list.iter()
                .filter_map(|line| Some((text(&line, "name")?, text(&line, "phone")?)))
                .collect()
        })
        .unwrap_or_default();
    Some(Centre {
        name: text(&json, "name"),
        phone: text(&json, "phone"),
        url: text(&json, "url"),
        crisis,
    })
}

/// The centre's details, once fetched (empty until then).
#[hook]
pub fn use_centre() -> Rc<Centre> {
    let centre = use_state(|| CACHE.with(|c| c.borrow().clone()).unwrap_or_default());
    {
        let centre = centre.clone();
        use_effect_with((), move |_| {
            if CACHE.with(|c| c.borrow().is_none()) {
                wasm_bindgen_futures::spawn_local(async move {
                    let fetched = Rc::new(fetch().await.unwrap_or_default());
                    CACHE.with(|c| *c.borrow_mut() = Some(fetched.clone()));
                    centre.set(fetched);
                });
            }
        });
    }
    (*centre).clone()
}

/// `tel:` with only the digits and a leading +.
pub fn tel(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!("tel:{digits}")
}

#[derive(Properties, PartialEq)]
pub struct CentreProps {
    /// The end page: also the crisis lines.
    #[prop_or_default]
    pub crisis: bool,
}

/// "Beratungsstelle Nord · Telefon 030 … · beratung.example.org", and the
/// crisis lines with `crisis`.
#[component(CentreInfo)]
pub fn centre_info(props: &CentreProps) -> Html {
    let strings = use_strings();
    let centre = use_centre();
    let crisis = props.crisis && !centre.crisis.is_empty();
    if centre.name.is_none() && centre.phone.is_none() && centre.url.is_none() && !crisis {
        return html! {};
    }
    html! {
        <aside class="centre" data-testid="centre">
            if let Some(name) = &centre.name {
                <p class="centre-name" data-testid="centre-name">{ name.clone() }</p>
            }
            if let Some(phone) = &centre.phone {
                <p>{ strings.centre_phone }{ " " }
                    <a href={tel(phone)} data-testid="centre-phone">{ phone.clone() }</a></p>
            }
            if let Some(url) = &centre.url {
                <p data-testid="centre-url">{ url.trim_start_matches("https://").trim_start_matches("http://").to_string() }</p>
            }
            if crisis {
                <p class="centre-crisis-title">{ strings.crisis_title }</p>
                <ul class="centre-crisis" data-testid="crisis-lines">
                    { for centre.crisis.iter().map(|(name, phone)| html! {
                        <li>{ name.clone() }{ ": " }<a href={tel(phone)}>{ phone.clone() }</a></li>
                    }) }
                </ul>
            }
        </aside>
    }
}
