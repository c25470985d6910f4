//! `#[derive(Lossless)]`: the `Deserialize` impl of `hookwire-events`' lossless structs.
//!
//! serde's own derive reads a struct with a `#[serde(flatten)]` catch-all by buffering every
//! field into serde's private `Content` first and refuses a repeated key as a duplicate
//! field. This derive reads the map once, straight into the fields: the last of repeated keys
//! wins, a key no field claims goes into the `#[serde(flatten)]` object, and an optional
//! `#[lossless(keyed)]` field takes the entries a `crate::de::Keyed` type claims (a content
//! object picked by its key). It reads the `#[serde(...)]` attributes the crate uses, so the
//! serde `Serialize` derive and this one share one description of the wire:
//!
//! - container: `rename_all = "camelCase"`;
//! - field: `rename = "…"`, `default`, `deserialize_with = "…"`, `skip_deserializing`,
//!   `flatten` (the catch-all object), and `skip_serializing_if` (serialization only).
//!
//! A missing field without `default` is an error, except an `Option` read without
//! `deserialize_with`, which is `None` (as serde's derive does). The generated code refers to
//! `crate::de`, so the derive is for use inside `hookwire-events` only.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Error, Fields, LitStr, Type};

/// Derives `serde::Deserialize` for a struct with named fields (see the crate docs).
#[proc_macro_derive(Lossless, attributes(lossless, serde))]
pub fn derive_lossless(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// How a field is read.
enum Role {
    /// A wire key of its own.
    Key {
        wire: String,
        default: bool,
        with: Option<syn::ExprPath>,
    },
    /// Not read: `Default::default()`.
    Skipped,
    /// The catch-all object of unclaimed keys.
    Extra,
    /// An `Option<T>` filled from the entries `T: Keyed` claims.
    Keyed(Type),
}

struct Field {
    ident: syn::Ident,
    ty: Type,
    role: Role,
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(&input.generics, "Lossless: no generics"));
    }
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(name, "Lossless: structs only"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(Error::new_spanned(name, "Lossless: named fields only"));
    };
    let camel = container_camel_case(input)?;
    let fields = named
        .named
        .iter()
        .map(|f| field(f, camel))
        .collect::<syn::Result<Vec<_>>>()?;
    let extras: Vec<_> = fields
        .iter()
        .filter(|f| matches!(f.role, Role::Extra))
        .collect();
    let [extra] = extras.as_slice() else {
        return Err(Error::new_spanned(
            name,
            "Lossless: exactly one #[serde(flatten)] catch-all object",
        ));
    };
    let extra_ty = &extra.ty;
    let extra_slot = fields
        .iter()
        .position(|f| matches!(f.role, Role::Extra))
        .map(|j| format_ident!("__slot_{}", j));

    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut finish = Vec::new();
    let mut helpers = Vec::new();
    let mut keyed_arm = None;
    for (i, f) in fields.iter().enumerate() {
        let ident = &f.ident;
        let ty = &f.ty;
        let slot = format_ident!("__slot_{}", i);
        match &f.role {
            Role::Key {
                wire,
                default,
                with,
            } => {
                slots.push(quote! { let mut #slot: ::core::option::Option<#ty> = None; });
                let read = match with {
                    Some(path) => {
                        let wrapper = format_ident!("__With{}", i);
                        helpers.push(quote! {
                            struct #wrapper(#ty);
                            impl<'de> ::serde::Deserialize<'de> for #wrapper {
                                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                                    #path(d).map(#wrapper)
                                }
                            }
                        });
                        quote! { map.next_value::<#wrapper>()?.0 }
                    }
                    None => quote! { map.next_value::<#ty>()? },
                };
                arms.push(quote! { #wire => #slot = Some(#read), });
                let missing = if *default {
                    quote! { ::core::default::Default::default() }
                } else if with.is_some() {
                    quote! { return Err(<A::Error as ::serde::de::Error>::missing_field(#wire)) }
                } else {
                    quote! { crate::de::missing_field::<#ty, A::Error>(#wire)? }
                };
                finish.push(quote! { let #slot = match #slot { Some(v) => v, None => #missing }; });
            }
            Role::Skipped => {
                finish.push(quote! { let #slot: #ty = ::core::default::Default::default(); });
            }
            Role::Extra => {
                slots.push(
                    quote! { let mut #slot: #extra_ty = ::core::default::Default::default(); },
                );
            }
            Role::Keyed(inner) => {
                if keyed_arm.is_some() {
                    return Err(Error::new_spanned(
                        ident,
                        "Lossless: one keyed field at most",
                    ));
                }
                slots.push(quote! {
                    let mut #slot: crate::de::KeyedSlot<#inner> = crate::de::KeyedSlot::default();
                });
                keyed_arm = Some(quote! {
                    if let Some(rank) = <#inner as crate::de::Keyed>::rank(key.as_ref())
                        && #slot.takes(rank)
                    {
                        let part = map.next_value_seed(crate::de::KeyedSeed::<#inner>::new(key.as_ref()))?;
                        #slot.put(rank, part, &mut #extra_slot);
                        continue;
                    }
                });
                finish.push(quote! { let #slot: #ty = #slot.into_option(); });
            }
        }
    }
    let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let slot_names: Vec<_> = (0..fields.len())
        .map(|i| format_ident!("__slot_{}", i))
        .collect();
    let expecting = format!("struct {name}");
    Ok(quote! {
        const _: () = {
            #(#helpers)*
            struct __Visitor;
            impl<'de> ::serde::de::Visitor<'de> for __Visitor {
                type Value = #name;
                fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(#expecting)
                }
                fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<#name, A::Error> {
                    #(#slots)*
                    while let Some(key) = map.next_key_seed(crate::de::KeySeed)? {
                        match key.as_ref() {
                            #(#arms)*
                            _ => {
                                #keyed_arm
                                let value = map.next_value::<::serde_json::Value>()?;
                                #extra_slot.insert(key.into_owned(), value);
                            }
                        }
                    }
                    #(#finish)*
                    Ok(#name { #(#idents: #slot_names,)* })
                }
            }
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    d.deserialize_map(__Visitor)
                }
            }
        };
    })
}

fn container_camel_case(input: &DeriveInput) -> syn::Result<bool> {
    let mut camel = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let rule: LitStr = meta.value()?.parse()?;
                if rule.value() != "camelCase" {
                    return Err(meta.error("Lossless: rename_all supports camelCase only"));
                }
                camel = true;
                Ok(())
            } else {
                Err(meta.error("Lossless: unsupported container attribute"))
            }
        })?;
    }
    Ok(camel)
}

fn field(f: &syn::Field, camel: bool) -> syn::Result<Field> {
    let ident = f
        .ident
        .clone()
        .ok_or_else(|| Error::new_spanned(f, "Lossless: named fields only"))?;
    let mut rename = None;
    let mut default = false;
    let mut with = None;
    let mut skip = false;
    let mut flatten = false;
    let mut keyed = false;
    for attr in &f.attrs {
        if attr.path().is_ident("lossless") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("keyed") {
                    keyed = true;
                    Ok(())
                } else {
                    Err(meta.error("Lossless: unknown attribute"))
                }
            })?;
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    rename = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("default") {
                    default = true;
                } else if meta.path.is_ident("deserialize_with") {
                    let path: LitStr = meta.value()?.parse()?;
                    with = Some(path.parse::<syn::ExprPath>()?);
                } else if meta.path.is_ident("skip_deserializing") {
                    skip = true;
                } else if meta.path.is_ident("flatten") {
                    flatten = true;
                } else if meta.path.is_ident("skip_serializing_if") {
                    let _: LitStr = meta.value()?.parse()?;
                } else {
                    return Err(meta.error("Lossless: unsupported field attribute"));
                }
                Ok(())
            })?;
        }
    }
    let role = if keyed {
        Role::Keyed(
            option_inner(&f.ty)
                .ok_or_else(|| Error::new_spanned(&f.ty, "Lossless: a keyed field is an Option"))?,
        )
    } else if skip {
        Role::Skipped
    } else if flatten {
        Role::Extra
    } else {
        let wire = rename.unwrap_or_else(|| {
            let name = ident.to_string();
            if camel { camel_case(&name) } else { name }
        });
        Role::Key {
            wire,
            default,
            with,
        }
    };
    Ok(Field {
        ident,
        ty: f.ty.clone(),
        role,
    })
}

/// `T` of `Option<T>`.
fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// serde's `camelCase` rule for a snake_case field name.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
