//! The stepping state of a scenario, as a `Reducible` (yew's function_todomvc pattern):
//! every control dispatches an [`Action`], and views read the [`Model`].

use std::rc::Rc;
use wirelab_core::{Trace, TraceKind};
use wirelab_scenarios::{Params, ScenarioInfo};
use yew::Reducible;

/// A scenario run, and where the person is in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub info: &'static ScenarioInfo,
    /// The seed and faults the run was made with.
    pub params: Params,
    /// The run, computed in the browser by the simulator.
    pub trace: Rc<Trace>,
    /// Which trace events are steps (timer settings and metrics are drawn, not stepped through).
    pub steps: Rc<Vec<usize>>,
    /// How many steps have happened: 0 is before the first, `steps.len()` after the last.
    pub pos: usize,
    /// A frame the person clicked, by the trace index of its `Sent` event.
    pub selected: Option<usize>,
    /// Set when the scenario could not be run.
    pub error: Option<String>,
}

impl Model {
    /// Runs the scenario with `params`, `pos` steps in (clamped to the run's length).
    pub fn run(info: &'static ScenarioInfo, params: Params, pos: usize) -> Self {
        let (trace, error) = match wirelab_scenarios::run(info.id, &params) {
            Ok(t) => (t, None),
            Err(e) => (Trace::default(), Some(e.to_string())),
        };
        let steps = trace
            .events
            .iter()
            .filter(|e| !matches!(e.kind, TraceKind::TimerArmed { .. } | TraceKind::Metric { .. }))
            .map(|e| e.seq)
            .collect::<Vec<_>>();
        let pos = pos.min(steps.len());
        Model { info, params, trace: Rc::new(trace), steps: Rc::new(steps), pos, selected: None, error }
    }

    /// The trace index of the last step taken, if any.
    pub fn current_event(&self) -> Option<usize> {
        self.pos.checked_sub(1).and_then(|i| self.steps.get(i).copied())
    }

    /// The frame the inspector shows: the clicked one, else the current step's.
    pub fn inspected_frame(&self) -> Option<usize> {
        self.selected.or_else(|| self.current_event().and_then(|e| self.trace.frame_of(e)).map(|(s, _)| s))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Next,
    Prev,
    First,
    Last,
    /// Go to just after step `n` (a row clicked in the ladder).
    Goto(usize),
    Select(usize),
    /// The same scenario run again with other faults: keep the step (at the end stays at
    /// the end) and the clicked frame, if the new run still sent one there.
    Rerun(Rc<Model>),
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let last = self.steps.len();
        if let Action::Rerun(new) = action {
            let end = new.steps.len();
            let pos = if self.pos == last { end } else { self.pos.min(end) };
            let selected = self.selected.filter(|&s| new.trace.frame(s).is_some());
            return Rc::new(Model { pos, selected, ..Rc::unwrap_or_clone(new) });
        }
        let (pos, selected) = match action {
            Action::Next => ((self.pos + 1).min(last), None),
            Action::Prev => (self.pos.saturating_sub(1), None),
            Action::First => (0, None),
            Action::Last => (last, None),
            Action::Goto(n) => (n.min(last), None),
            Action::Select(s) => (self.pos, Some(s)),
            Action::Rerun(_) => return self,
        };
        if pos == self.pos && selected == self.selected {
            return self;
        }
        Rc::new(Model {
            info: self.info,
            params: self.params.clone(),
            trace: Rc::clone(&self.trace),
            steps: Rc::clone(&self.steps),
            pos,
            selected,
            error: self.error.clone(),
        })
    }
}
