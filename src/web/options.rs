//! The page's URL options (`?scenario=galaxy&particles=500000&...`), read by the browser
//! entry point: plain parsing, so it is tested natively too.

use crate::scenario::{MAX_PARTICLES, MIN_PARTICLES, Scenario, ScenarioChoice};

/// What a page URL (or any `name=value&...` query) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayOptions {
    /// Scenario, particle target and seed.
    pub choice: ScenarioChoice,
    /// SIMD (true) or the scalar twin (false).
    pub use_simd: bool,
    /// Pause once the simulation has taken this many steps.
    pub pause_at: Option<u64>,
    /// Capture this many frames after a warm-up, then hand the file over.
    pub capture: Option<u32>,
    /// Find how many particles fit the frame budget, then hand the capture over.
    pub capacity: bool,
}

/// Most frames one capture records.
pub const MAX_CAPTURE_FRAMES: u32 = 100_000;

/// Most kernel workers the loader starts (`web/loader.js`, which reads `workers` itself,
/// before the module runs): with the main thread, eight cores.
pub const MAX_WORKERS: u32 = 7;

impl PlayOptions {
    /// Reads `scenario`, `particles`, `seed`, `backend` (`simd` or `scalar`), `pause_at`,
    /// `capture` and `capacity` (alone, `=1` or `=true`) from a URL query, and checks `workers` (which the loader reads) (with or without the leading `?`). Anything that cannot be used
    /// is left at its default and described in the returned messages, which name the
    /// parameter and what it accepts.
    #[must_use]
    pub fn from_query(query: &str) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut scenario = Scenario::Fountain;
        let mut particles = None;
        let mut options = Self {
            choice: ScenarioChoice::default(),
            use_simd: true,
            pause_at: None,
            capture: None,
            capacity: false,
        };
        let pairs = query
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| !pair.is_empty());
        for pair in pairs {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "scenario" => match Scenario::from_name(value) {
                    Some(chosen) => scenario = chosen,
                    None => problems.push(format!("scenario '{value}' is not one of {}; playing fountain", Scenario::names())),
                },
                "particles" => match value.parse::<u32>() {
                    Ok(n) if (MIN_PARTICLES..=MAX_PARTICLES).contains(&n) => particles = Some(n),
                    _ => problems.push(format!(
                        "particles '{value}' is not a whole number in {MIN_PARTICLES}..={MAX_PARTICLES}; using the scenario's default"
                    )),
                },
                "seed" => match value.parse::<u64>() {
                    Ok(seed) => options.choice.seed = seed,
                    Err(_) => problems.push(format!(
                        "seed '{value}' is not a whole number in 0..={}; using {}",
                        u64::MAX,
                        options.choice.seed
                    )),
                },
                "backend" => match value {
                    "simd" => options.use_simd = true,
                    "scalar" => options.use_simd = false,
                    _ => problems.push(format!("backend '{value}' is not simd or scalar; using simd")),
                },
                "pause_at" => match value.parse::<u64>() {
                    Ok(step) if step > 0 => options.pause_at = Some(step),
                    _ => problems.push(format!("pause_at '{value}' is not a step count of 1 or more; not pausing")),
                },
                "capture" => match value.parse::<u32>() {
                    Ok(frames) if (1..=MAX_CAPTURE_FRAMES).contains(&frames) => options.capture = Some(frames),
                    _ => problems.push(format!("capture '{value}' is not a frame count in 1..={MAX_CAPTURE_FRAMES}; not capturing")),
                },
                "capacity" => match value {
                    "" | "1" | "true" => options.capacity = true,
                    _ => problems.push(format!("capacity '{value}' is not empty, 1 or true; not searching")),
                },
                "workers" => match value.parse::<u32>() {
                    Ok(workers) if workers <= MAX_WORKERS => {}
                    _ => problems.push(format!("workers '{value}' is not a worker count in 0..={MAX_WORKERS}; using the default")),
                },
                _ => problems.push(format!(
                    "unknown parameter '{name}' (known: scenario, particles, seed, backend, pause_at, capture, capacity, workers); ignored"
                )),
            }
        }
        if options.capacity && options.capture.is_some() {
            options.capacity = false;
            problems.push("capture and capacity both asked for; capturing only".to_owned());
        }
        options.choice.scenario = scenario;
        options.choice.particles = particles.unwrap_or_else(|| scenario.default_particles());
        (options, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_query_sets_every_option() {
        let (options, problems) = PlayOptions::from_query(
            "?scenario=galaxy&particles=500000&seed=7&backend=scalar&pause_at=90&capture=300&workers=7",
        );
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            options.choice,
            ScenarioChoice {
                scenario: Scenario::Galaxy,
                particles: 500_000,
                seed: 7
            }
        );
        assert!(!options.use_simd);
        assert_eq!(options.pause_at, Some(90));
        assert_eq!(options.capture, Some(300));
        assert!(!options.capacity);
        assert!(PlayOptions::from_query("capacity").0.capacity);
        assert!(PlayOptions::from_query("capacity=1").0.capacity);
        let (both, problems) = PlayOptions::from_query("capacity=true&capture=5");
        assert_eq!((both.capture, both.capacity), (Some(5), false));
        assert_eq!(
            problems,
            ["capture and capacity both asked for; capturing only"]
        );
        assert!(!PlayOptions::from_query("").0.capacity);
    }

    #[test]
    fn unusable_url_values_fall_back_and_name_the_parameter_and_range() {
        let (options, problems) = PlayOptions::from_query(
            "scenario=nebula&particles=12&seed=-3&backend=gpu&colour=red&capture=0&workers=8&capacity=yes",
        );
        assert_eq!(options.choice, ScenarioChoice::default());
        assert!(options.use_simd);
        assert_eq!(options.capture, None);
        assert!(!options.capacity);
        assert_eq!(problems.len(), 8, "{problems:?}");
        assert!(
            problems[0].contains("scenario 'nebula'") && problems[0].contains("fountain, galaxy")
        );
        assert!(problems[1].contains("particles '12'") && problems[1].contains("1000..=4000000"));
        assert!(problems[2].starts_with("seed '-3'") && problems[2].ends_with("using 1"));
        assert!(problems[3].starts_with("backend 'gpu'"));
        assert!(problems[4].contains("unknown parameter 'colour'"));
        assert!(problems[5].contains("capture '0'") && problems[5].contains("1..=100000"));
        assert!(problems[6].contains("workers '8'") && problems[6].contains("0..=7"));
        assert!(problems[7].contains("capacity 'yes'") && problems[7].contains("not searching"));
    }
}
