//! The simulated population: people made up from a seed, each with the card identifiers a
//! clinic would send and the 資格情報 OQS would answer with (DOMAIN.md §3.3, §4).
//!
//! Person `i` is drawn from its own ChaCha stream seeded with (seed, i), so the same seed
//! gives the same people whatever the order of access. Indexes 0–9 are the well-known people
//! with fixed shapes (docs/oqs-sim.md). It never holds a real person's data and never needs
//! the clock: ages are counted against a fixed reference day.

mod names;
mod person;

#[cfg(test)]
mod tests;

pub(crate) use person::fold;
pub use person::{CardNumbers, Person, person};

use std::collections::HashMap;

/// The whole population, with look-ups by card numbers and by certificate subject.
#[derive(Debug)]
pub struct People {
    seed: u64,
    people: Vec<Person>,
    by_numbers: HashMap<NumbersKey, u32>,
    by_subject: HashMap<String, u32>,
}

/// Card numbers as compared: insurer digits, folded 記号 and 番号, 枝番.
type NumbersKey = (String, String, String, String);

impl People {
    /// Generates `size` people from `seed`.
    pub fn generate(seed: u64, size: u32) -> Self {
        let people: Vec<Person> = (0..size).map(|i| person(seed, i)).collect();
        let mut by_numbers = HashMap::with_capacity(people.len());
        let mut by_subject = HashMap::with_capacity(people.len());
        for p in &people {
            by_numbers.insert(
                key(
                    &p.card.insurer_number,
                    &p.card.symbol,
                    &p.card.number,
                    &p.card.branch,
                ),
                p.index,
            );
            by_subject.insert(p.certificate_subject.clone(), p.index);
        }
        Self {
            seed,
            people,
            by_numbers,
            by_subject,
        }
    }

    /// Returns the seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Returns how many people there are.
    pub fn len(&self) -> u32 {
        u32::try_from(self.people.len()).unwrap_or(u32::MAX)
    }

    /// Returns whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Returns every person, by index.
    pub fn all(&self) -> &[Person] {
        &self.people
    }

    /// Returns person `index`.
    pub fn get(&self, index: u32) -> Option<&Person> {
        self.people.get(usize::try_from(index).ok()?)
    }

    /// Returns the person whose auth certificate carries `subject_cn`.
    pub fn by_subject(&self, subject_cn: &str) -> Option<&Person> {
        self.by_subject.get(subject_cn).and_then(|i| self.get(*i))
    }

    /// Returns the person with these card numbers: the insurer number compared without its
    /// padding spaces, 記号 and 番号 after full-width → half-width folding.
    pub fn by_numbers(
        &self,
        insurer_number: &str,
        symbol: &str,
        number: &str,
        branch: &str,
    ) -> Option<&Person> {
        self.by_numbers
            .get(&key(insurer_number, symbol, number, branch))
            .and_then(|i| self.get(*i))
    }
}

fn key(insurer: &str, symbol: &str, number: &str, branch: &str) -> NumbersKey {
    (
        insurer.trim_matches(' ').to_owned(),
        fold(symbol),
        fold(number),
        fold(branch),
    )
}
