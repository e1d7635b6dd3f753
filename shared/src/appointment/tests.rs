// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use super::*;

const START: u64 = 1_796_216_400; // 2026-12-02 13:00 UTC

fn fifty_minutes() -> Appointment {
    Appointment::new(START, DEFAULT_OPENS_BEFORE_SECS, 50 * 60).unwrap()
}

#[test]
fn the_window_runs_from_opens_before_the_start_to_the_end() {
    let a = fifty_minutes();
    assert_eq!(a.starts(), START);
    assert_eq!(a.opens(), START - 15 * 60);
    assert_eq!(a.closes(), START + 50 * 60);
    assert_eq!(a.phase(a.opens() - 90), Phase::Early { opens_in: 90 });
    assert_eq!(a.phase(a.opens() - 1), Phase::Early { opens_in: 1 });
    assert_eq!(a.phase(a.opens()), Phase::Open);
    assert_eq!(a.phase(a.closes() - 1), Phase::Open);
    assert_eq!(a.phase(a.closes()), Phase::Over);
    assert_eq!(a.phase(u64::MAX), Phase::Over);
}

#[test]
fn impossible_appointments_are_refused() {
    assert_eq!(
        Appointment::new(u64::from(u32::MAX) + 1, 0, 3600),
        Err(AppointmentError::BadStart)
    );
    assert_eq!(
        Appointment::new(START, MAX_OPENS_BEFORE_SECS + 1, 3600),
        Err(AppointmentError::OpensTooEarly)
    );
    assert_eq!(
        Appointment::new(100, 101, 3600),
        Err(AppointmentError::OpensTooEarly)
    );
    assert_eq!(
        Appointment::new(START, 0, 59),
        Err(AppointmentError::BadLength)
    );
    assert_eq!(
        Appointment::new(START, 0, MAX_LENGTH_SECS + 1),
        Err(AppointmentError::BadLength)
    );
    assert!(Appointment::new(START, MAX_OPENS_BEFORE_SECS, MAX_LENGTH_SECS).is_ok());
    assert!(Appointment::new(START, 0, 60).is_ok());
}

#[test]
fn bytes_round_trip_and_are_checked_when_read() {
    let a = fifty_minutes();
    let b = a.to_bytes();
    assert_eq!(b, [0x6b, 0x10, 0x16, 0x50, 0x03, 0x84, 0x0b, 0xb8]);
    assert_eq!(Appointment::from_bytes(&b), Ok(a));
    let mut long = b;
    long[6..].copy_from_slice(&u16::MAX.to_be_bytes());
    assert_eq!(
        Appointment::from_bytes(&long),
        Err(AppointmentError::BadLength)
    );
    let mut early = b;
    early[4..6].copy_from_slice(&u16::MAX.to_be_bytes());
    assert_eq!(
        Appointment::from_bytes(&early),
        Err(AppointmentError::OpensTooEarly)
    );
}

#[test]
fn rooms_are_registered_a_day_ahead_until_the_window_closes() {
    let a = fifty_minutes();
    assert!(!a.due_for_registration(a.opens() - REGISTER_AHEAD_SECS - 1));
    assert!(a.due_for_registration(a.opens() - REGISTER_AHEAD_SECS));
    assert!(a.due_for_registration(a.starts()));
    assert!(a.due_for_registration(a.closes() - 1));
    assert!(!a.due_for_registration(a.closes()));
}

#[test]
fn waiting_pages_wake_at_the_opening_and_at_least_every_30_seconds() {
    let a = fifty_minutes();
    assert_eq!(a.next_wake(a.opens() - 3600), MAX_WAKE_SECS);
    assert_eq!(a.next_wake(a.opens() - 7), 7);
    assert_eq!(a.next_wake(a.opens()), MAX_WAKE_SECS);
    assert_eq!(a.next_wake(a.closes() - 5), 5);
    assert_eq!(a.next_wake(a.closes()), MAX_WAKE_SECS);
}

#[test]
fn a_refused_knock_is_tried_again_until_the_window_closes() {
    let a = fifty_minutes();
    assert_eq!(a.after_refusal(a.opens(), 0), Some(2));
    assert_eq!(
        a.after_refusal(a.closes() - 1, 3),
        Some(MAX_KNOCK_RETRY_SECS)
    );
    assert_eq!(a.after_refusal(a.closes(), 0), None);
}

#[test]
fn refused_knocks_are_retried_with_backoff_up_to_15_seconds() {
    let delays: Vec<u64> = (0..6).map(knock_retry_delay).collect();
    assert_eq!(delays, [2, 4, 8, 15, 15, 15]);
    assert_eq!(knock_retry_delay(u32::MAX), MAX_KNOCK_RETRY_SECS);
}
