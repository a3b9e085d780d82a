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
        let labels = match query.get("labelSelector") {
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
                let supported = everynode_core::fields::supported_fields(resource.plural);
                for field in selector.field_names() {
                    let common = field == "metadata.name"
                        || (resource.namespaced && field == "metadata.namespace");
                    if !common && !supported.contains(&field) {
                        return Err(ApiError::bad_request(format!(
                            "field label not supported: {field}"
                        )));
                    }
                }
                Some(selector)
            }
        };
        Ok(Self { labels, fields })
    }

    pub fn matches(&self, object: &StoredObject) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|selector| selector.matches(&object.labels))
            && self.fields.as_ref().is_none_or(|selector| {
                selector.matches(|field| object.field(field).map(str::to_owned))
            })
    }
}
