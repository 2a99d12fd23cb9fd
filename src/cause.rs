//! Errors keep their causes; this is how they are read. An error variant that wraps another
//! error keeps it as its `#[source]` (typed, not flattened into a string), its own `Display`
//! says only its own level, and the whole chain is written out only where it is shown: in a
//! log line, a stored note, a message to a technician. Pure core: no IO, no other module.

use std::error::Error;
use std::io;

/// A boxed error that can cross threads: the source of a variant that wraps errors of more
/// than one type.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// `e` and every cause below it, `outer: inner: innermost`. A cause whose text the level above
/// already ends with (libraries that print their source themselves) is not repeated.
#[must_use]
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        let text = c.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = c.source();
    }
    out
}

/// Whether an error of type `T` is `e` or anywhere among its causes, including inside an
/// `io::Error`, which holds its payload without showing it as a source.
#[must_use]
pub fn caused_by<T: Error + 'static>(e: &(dyn Error + 'static)) -> bool {
    if e.is::<T>() {
        return true;
    }
    if let Some(io) = e.downcast_ref::<io::Error>()
        && let Some(inner) = io.get_ref()
        && caused_by::<T>(inner)
    {
        return true;
    }
    e.source().is_some_and(caused_by::<T>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("could not connect to {url}")]
        Connect {
            url: String,
            #[source]
            source: io::Error,
        },
        #[error("repeats its cause: {0}")]
        Repeats(#[source] io::Error),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("certificate not trusted")]
    struct Untrusted;

    #[test]
    fn the_chain_is_written_when_shown_and_not_repeated() {
        let e = Outer::Connect {
            url: "https://198.51.100.7".into(),
            source: io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"),
        };
        assert_eq!(e.to_string(), "could not connect to https://198.51.100.7");
        assert_eq!(
            chain(&e),
            "could not connect to https://198.51.100.7: connection refused"
        );
        let r = Outer::Repeats(io::Error::other("reset by peer"));
        assert_eq!(chain(&r), "repeats its cause: reset by peer");
    }

    #[test]
    fn a_cause_is_found_at_any_depth_even_inside_an_io_error() {
        let e = Outer::Connect {
            url: "https://198.51.100.7".into(),
            source: io::Error::other(Untrusted),
        };
        assert!(caused_by::<Untrusted>(&e));
        assert!(caused_by::<io::Error>(&e));
        let plain = Outer::Repeats(io::Error::other("reset"));
        assert!(!caused_by::<Untrusted>(&plain));
    }
}
