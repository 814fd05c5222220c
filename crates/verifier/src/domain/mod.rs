//! The abstract domain, with no environment: tnums, the generic 64/32-bit bounds, the scalar
//! transfer rules over them, and the register, stack and frame state they live in.

pub mod bounds;
pub mod cond;
pub mod scalar_ops;
pub mod stack_obj;
pub mod state;
#[cfg(test)]
mod test_values;
pub mod tnum;
pub mod width;
