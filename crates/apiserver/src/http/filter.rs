//! List and watch filters: label and field selectors from the query, checked against stored objects.

use everynode_core::fields::FieldSelector;
use everynode_core::labels::Selector;

use super::query::Query;
use crate::error::ApiError;
use crate::resources::Resource;
use crate::store::StoredObject;

/// The selectors of one list or watch request.
#[derive(Default)]
pub struct Filter {
    labels: Option<Selector>,
    fields: Option<FieldSelector>,
}

impl Filter {
    pub fn from_query(resource: &Resource, query: &Query) -> Result<Self, ApiError> {
        let labels =
            match query.get("labelSelector") {
                None | Some("") => None,
                Some(text) => Some(Selector::parse(text).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
            };
        let fields = match query.get("fieldSelector") {
            None | Some("") => None,
            Some(text) => {
                let selector = FieldSelector::parse(text)
                    .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?;
                // Upstream converts every label per kind (api.md §5): unsupported ones are a 400.
                let converted = selector
                    .convert_for(resource.plural)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                Some(converted)
            }
        };
        Ok(Self { labels, fields })
    }

    pub fn matches(&self, object: &StoredObject) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|selector| selector.matches(&object.labels))
            && self.fields.as_ref().is_none_or(|selector| {
                selector.matches_with(|field| object.field(field).map(str::to_owned))
            })
    }
}
