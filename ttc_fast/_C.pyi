# Type stub for the private native module ttc_fast._C (csrc/bindings.cpp). Keep in sync.
def num_threads() -> int: ...

# ---- estimators ----
import numpy as np
import numpy.typing as npt

def pass_at_k(num_samples: npt.ArrayLike, num_correct: npt.ArrayLike, ks: npt.ArrayLike, lenient: bool = False,
              per_problem: bool = False, num_threads: int = 0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]: ...
def maj_at_k(answers: npt.ArrayLike, correct: npt.ArrayLike, ks: npt.ArrayLike, tie: int = 0, abstain: int = 0,
             lenient: bool = False, num_threads: int = 0) -> np.ndarray: ...
def maj_at_k_counts(cluster_sizes: npt.ArrayLike, cluster_correct: npt.ArrayLike,
                    abstentions: npt.ArrayLike | None, ks: npt.ArrayLike, tie: int = 0, abstain: int = 0,
                    lenient: bool = False, num_threads: int = 0) -> np.ndarray: ...
def best_of_k(scores: npt.ArrayLike, correct: npt.ArrayLike, lengths: npt.ArrayLike | None, ks: npt.ArrayLike,
              lenient: bool = False, num_threads: int = 0) -> np.ndarray: ...
def weighted_maj_at_k(answers: npt.ArrayLike, scores: npt.ArrayLike, correct: npt.ArrayLike, ks: npt.ArrayLike,
                      draws: int = 1000, seed: int = 0, lenient: bool = False, num_threads: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]: ...
