pub mod placement_model;
