//! How particles look over their lifetime: colour and size gradients.

use bevy::prelude::*;

use super::kernels::{Gradient, MAX_GRADIENT_KEYS};

/// A colour at a point in the lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct ColorKey {
    /// Share of the lifetime, 0 (birth) to 1 (death).
    pub at: f32,
    /// sRGB red, green, blue and alpha, each 0 to 1.
    pub rgba: [f32; 4],
}

/// A size at a point in the lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct SizeKey {
    /// Share of the lifetime, 0 (birth) to 1 (death).
    pub at: f32,
    /// Sprite size, in metres.
    pub size: f32,
}

/// Colour and size over the lifetime, as up to [`MAX_GRADIENT_KEYS`] keys each, sorted by `at`.
#[derive(Debug, Clone, PartialEq, Reflect)]
pub struct Looks {
    /// Colour keys.
    pub color: Vec<ColorKey>,
    /// Size keys.
    pub size: Vec<SizeKey>,
}

impl Default for Looks {
    fn default() -> Self {
        Self {
            color: vec![
                ColorKey {
                    at: 0.0,
                    rgba: [1.0, 0.95, 0.7, 1.0],
                },
                ColorKey {
                    at: 0.4,
                    rgba: [1.0, 0.55, 0.15, 0.9],
                },
                ColorKey {
                    at: 1.0,
                    rgba: [0.6, 0.1, 0.3, 0.0],
                },
            ],
            size: vec![
                SizeKey {
                    at: 0.0,
                    size: 0.12,
                },
                SizeKey {
                    at: 1.0,
                    size: 0.04,
                },
            ],
        }
    }
}

impl Looks {
    /// The red, green, blue and alpha gradient, scaled to 0..255 for packing.
    #[must_use]
    pub fn color_gradient(&self) -> Gradient<4> {
        let mut keys = [(0.0, [0.0; 4]); MAX_GRADIENT_KEYS];
        for (slot, key) in keys.iter_mut().zip(&self.color) {
            *slot = (key.at, key.rgba.map(|value| value.clamp(0.0, 1.0) * 255.0));
        }
        Gradient::from_keys(&keys[..self.color.len().min(MAX_GRADIENT_KEYS)])
    }

    /// The size gradient, in metres.
    #[must_use]
    pub fn size_gradient(&self) -> Gradient<1> {
        let mut keys = [(0.0, [0.0]); MAX_GRADIENT_KEYS];
        for (slot, key) in keys.iter_mut().zip(&self.size) {
            *slot = (key.at, [key.size]);
        }
        Gradient::from_keys(&keys[..self.size.len().min(MAX_GRADIENT_KEYS)])
    }
}
