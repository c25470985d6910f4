//! What a multi-tenant API needs on top of the registry: cursor pagination of deliveries and
//! endpoints, reads that answer only for the owning tenant, and a send that returns the
//! delivery ids.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::dispatcher::Dispatcher;
use crate::error::{Result, ValidationError};
use crate::model::{Delivery, DeliveryFilter, Endpoint, EnqueueResult, Message, UnixMillis};
use crate::registry::EndpointInfo;

/// The largest page [`Dispatcher::delivery_page`] and [`Dispatcher::endpoint_page`] return.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One page of a listing, and the cursor of the next page (`None` on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page, in the listing's order.
    pub items: Vec<T>,
    /// Pass it back to read the next page; opaque.
    pub next: Option<String>,
}

/// What [`Dispatcher::send_message`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The message id (the earlier message's for a repeated idempotency key).
    pub message_id: String,
    /// One delivery per endpoint the message fans out to.
    pub delivery_ids: Vec<String>,
    /// Whether the idempotency key was used before, so nothing new was stored.
    pub duplicate: bool,
}

fn check_size(size: usize) -> Result<(), ValidationError> {
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(ValidationError::InvalidPageSize { max: MAX_PAGE_SIZE });
    }
    Ok(())
}

/// `tag` + `created_at` + `.` + `rest`, base64url: opaque to callers, checked on the way back.
fn encode_cursor(tag: char, at: UnixMillis, rest: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}{at}.{rest}"))
}

fn decode_cursor(tag: char, cursor: &str) -> Result<(UnixMillis, String), ValidationError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| ValidationError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| ValidationError::InvalidCursor)?;
    let body = text
        .strip_prefix(tag)
        .ok_or(ValidationError::InvalidCursor)?;
    let (at, rest) = body.split_once('.').ok_or(ValidationError::InvalidCursor)?;
    let at = at.parse().map_err(|_| ValidationError::InvalidCursor)?;
    Ok((at, rest.to_owned()))
}

impl Dispatcher {
    /// One page of the deliveries matching `filter`, newest first, at most `size` long, after
    /// the position of `cursor` (a [`Page::next`] of the same listing). Keyset pagination on
    /// `(created_at, seq)`: each page is an index range scan, whatever its depth, and
    /// deliveries created while paging never shift the pages. `filter.after` and
    /// `filter.limit` are replaced.
    ///
    /// # Errors
    /// [`ValidationError::InvalidPageSize`] outside `1..=`[`MAX_PAGE_SIZE`],
    /// `ValidationError::InvalidCursor`, `DispatchError::Store`.
    pub async fn delivery_page(
        &self,
        filter: &DeliveryFilter,
        size: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Delivery>> {
        check_size(size)?;
        let after = match cursor {
            None => None,
            Some(c) => {
                let (at, seq) = decode_cursor('d', c)?;
                Some((at, seq.parse().map_err(|_| ValidationError::InvalidCursor)?))
            }
        };
        let filter = DeliveryFilter {
            after,
            limit: Some(size + 1),
            ..filter.clone()
        };
        let mut items = self.engine.store().list_deliveries(&filter).await?;
        let next = if items.len() > size {
            items.truncate(size);
            items
                .last()
                .map(|d| encode_cursor('d', d.created_at, &d.seq.to_string()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// One page of a tenant's endpoints, oldest first (by creation time, then id), without
    /// secret values. A tenant's endpoints are bounded by
    /// [`Limits::max_endpoints_per_tenant`](crate::Limits::max_endpoints_per_tenant), so the
    /// page is cut from the tenant's list.
    ///
    /// # Errors
    /// As [`delivery_page`](Self::delivery_page).
    pub async fn endpoint_page(
        &self,
        tenant: &str,
        size: usize,
        cursor: Option<&str>,
    ) -> Result<Page<EndpointInfo>> {
        check_size(size)?;
        let after = cursor.map(|c| decode_cursor('e', c)).transpose()?;
        self.engine.ready().await?;
        let mut all = self.engine.store().list_endpoints(tenant).await?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut items: Vec<EndpointInfo> = all
            .into_iter()
            .filter(|e| {
                after
                    .as_ref()
                    .is_none_or(|(at, id)| (e.created_at, e.id.as_str()) > (*at, id.as_str()))
            })
            .take(size + 1)
            .map(|e| self.opened(e).map(Into::into))
            .collect::<Result<_>>()?;
        let next = if items.len() > size {
            items.truncate(size);
            items
                .last()
                .map(|e| encode_cursor('e', e.endpoint.created_at, &e.endpoint.id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The endpoint `id` if it belongs to `tenant`; `None` for another tenant's, exactly as
    /// for a missing one.
    ///
    /// # Errors
    /// `DispatchError::Store`.
    pub async fn tenant_endpoint(&self, tenant: &str, id: &str) -> Result<Option<EndpointInfo>> {
        self.engine.ready().await?;
        self.engine
            .store()
            .get_endpoint(id)
            .await?
            .filter(|e| e.tenant == tenant)
            .map(|e| self.opened(e).map(Into::into))
            .transpose()
    }

    /// Every endpoint record of `tenant`, oldest first, with its secret values decrypted:
    /// for a host that signs or calls on its own (the ZITADEL executor). Never show them;
    /// [`list_endpoints`](Self::list_endpoints) is the view without secrets.
    ///
    /// # Errors
    /// [`ErrorKind::AtRest`](crate::ErrorKind::AtRest) for a record the keys cannot read;
    /// `DispatchError::Store`.
    pub async fn endpoint_records(&self, tenant: &str) -> Result<Vec<Endpoint>> {
        self.engine.ready().await?;
        self.engine
            .store()
            .list_endpoints(tenant)
            .await?
            .into_iter()
            .map(|e| self.opened(e))
            .collect()
    }

    /// The message `id` if it was sent for `tenant`; `None` otherwise.
    ///
    /// # Errors
    /// `DispatchError::Store`.
    pub async fn tenant_message(&self, tenant: &str, id: &str) -> Result<Option<Message>> {
        Ok(self
            .engine
            .store()
            .get_message(id)
            .await?
            .filter(|m| m.tenant == tenant))
    }

    /// The delivery `id` if its message was sent for `tenant`; `None` otherwise.
    ///
    /// # Errors
    /// `DispatchError::Store`.
    pub async fn tenant_delivery(&self, tenant: &str, id: &str) -> Result<Option<Delivery>> {
        let Some(d) = self.engine.store().get_delivery(id).await? else {
            return Ok(None);
        };
        Ok(self.tenant_message(tenant, &d.message_id).await?.map(|_| d))
    }

    /// Like [`send`](Self::send) (with an optional idempotency key), returning the ids of the
    /// deliveries it created; for a repeated key, the earlier message's.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_message(
        &self,
        tenant: &str,
        event_type: &str,
        payload: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<Sent> {
        let (result, delivery_ids) = self
            .enqueue_with_ids(
                tenant,
                event_type,
                payload,
                idempotency_key.map(str::to_owned),
                None,
            )
            .await?;
        Ok(match result {
            EnqueueResult::Created { message_id, .. } => Sent {
                message_id,
                delivery_ids,
                duplicate: false,
            },
            EnqueueResult::Duplicate { message_id } => Sent {
                delivery_ids: self.delivery_ids(&message_id).await?,
                message_id,
                duplicate: true,
            },
        })
    }

    /// The ids of a message's deliveries, oldest first.
    ///
    /// # Errors
    /// `DispatchError::Store`.
    pub async fn delivery_ids(&self, message_id: &str) -> Result<Vec<String>> {
        let list = self
            .engine
            .store()
            .list_deliveries(&DeliveryFilter {
                message_id: Some(message_id.to_owned()),
                limit: Some(MAX_PAGE_SIZE),
                ..DeliveryFilter::default()
            })
            .await?;
        Ok(list.into_iter().rev().map(|d| d.id).collect())
    }
}
