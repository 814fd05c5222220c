//! JIT common: executable memory, frame planning, the Backend trait (work in progress; see the issue tracker).
