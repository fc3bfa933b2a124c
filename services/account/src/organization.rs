//! Organizations (clinic groups) as domain values: ids, validated names, page tokens.

use crate::error::{Error, Result};
use uuid::Uuid;

/// An organization's id: a server-made UUIDv7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrganizationId(Uuid);

impl OrganizationId {
    /// Returns a new id, ordered after every id made before it.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the resource name `organizations/{uuid}`; `field` names the request field.
    pub fn parse_name(name: &str, field: &str) -> Result<Self> {
        let id = name
            .strip_prefix("organizations/")
            .ok_or_else(|| Error::field(field, "must look like organizations/{id}"))?;
        Uuid::parse_str(id)
            .map(Self)
            .map_err(|_| Error::field(field, "the id after organizations/ is not a UUID"))
    }

    /// Parses the id as stored.
    pub fn from_stored(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }

    /// Returns `organizations/{uuid}`.
    pub fn name(&self) -> String {
        format!("organizations/{}", self.0)
    }

    /// Returns the id as stored (lowercase hyphenated; sorts in creation order).
    pub fn stored(&self) -> String {
        self.0.to_string()
    }
}

impl Default for OrganizationId {
    fn default() -> Self {
        Self::new()
    }
}

/// What operators call an organization: 1 to 100 characters after trimming, no control
/// characters, and never anything that looks like a My Number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// The most characters a display name may have.
    pub const MAX_CHARS: usize = 100;

    /// Validates `value` as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let v = value.trim();
        if v.is_empty() {
            return Err(Error::field(field, "must not be empty"));
        }
        if v.chars().count() > Self::MAX_CHARS {
            return Err(Error::field(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(Error::field(field, "must not contain control characters"));
        }
        if mynafleet_kit::guard::text_contains_my_number(v) {
            return Err(Error::MyNumberRefused {
                field: field.to_owned(),
            });
        }
        Ok(Self(v.to_owned()))
    }

    /// Returns a value read back from the store, which validated it on the way in.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// Returns the name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization to create.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    /// Its display name.
    pub display_name: DisplayName,
}

/// A stored organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    /// Its display name.
    pub display_name: DisplayName,
    /// Bumped on every update; the etag is made from it.
    pub revision: i64,
    /// Creation time, microseconds since the epoch.
    pub create_time: i64,
    /// Last update time, microseconds since the epoch.
    pub update_time: i64,
}

impl Organization {
    /// Returns the etag clients send back to refuse lost updates.
    pub fn etag(&self) -> String {
        format!("r{}", self.revision)
    }

    /// Parses an etag into the revision it names; `None` for an etag this server never made.
    pub fn parse_etag(etag: &str) -> Option<i64> {
        etag.strip_prefix('r')?.parse().ok()
    }
}

/// Where the next page of a list starts: after the last id of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageToken {
    /// The last id returned.
    pub after: OrganizationId,
}

impl PageToken {
    const TAG: &'static str = "org";

    /// Encodes the token for clients (opaque to them).
    pub fn encode(&self) -> String {
        mynafleet_kit::page::encode_token(Self::TAG, &self.after.stored())
    }

    /// Decodes a client's token; an empty string means the first page.
    pub fn decode(token: &str) -> Result<Option<Self>> {
        match mynafleet_kit::page::decode_token(Self::TAG, token) {
            Ok(None) => Ok(None),
            Ok(Some(last)) => OrganizationId::from_stored(&last)
                .map(|after| Some(Self { after }))
                .ok_or(Error::InvalidPageToken),
            Err(()) => Err(Error::InvalidPageToken),
        }
    }
}

/// Validates a page size: 0 means the default, above the maximum is refused.
pub(crate) fn page_size(requested: i32) -> Result<u32> {
    mynafleet_kit::page::page_size(requested).map_err(|d| Error::field("page_size", d))
}

#[cfg(test)]
mod tests;
