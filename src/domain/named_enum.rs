//! One way to declare a closed set of names (tiers, roles, states, kinds, priorities).
//!
//! Each such enum is written once with its wire names; the macro gives it the derives every
//! one of them needs (serde with exactly those names, a JSON schema listing them), `as_str`,
//! `from_name`, `ALL` and `Display`. Before it, each enum spelled its names three times
//! (serde, `as_str`, `parse`) and they could drift apart. Parsing with a helpful error stays
//! with each type: the hint a model needs differs ("or leave it out: it is derived from the
//! name").

/// `named_enum! { /// doc  #[derive(Default)] pub enum Tier { Active = "active", … } }`
///
/// Extra attributes before `enum` (docs, further derives) and on variants (`#[default]`,
/// docs) are kept.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (what serde writes).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value with wire name `name`, exactly.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test set.
        #[derive(Default)]
        enum Colour {
            #[default]
            Red = "red",
            DeepBlue = "deep-blue",
        }
    }

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for c in Colour::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Colour>(&json).unwrap(), *c);
            assert_eq!(Colour::from_name(c.as_str()), Some(*c));
        }
        assert_eq!(Colour::from_name("Red"), None);
        assert_eq!(Colour::default(), Colour::Red);
        assert_eq!(Colour::DeepBlue.to_string(), "deep-blue");
    }
}
