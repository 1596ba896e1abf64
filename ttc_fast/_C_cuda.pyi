# Type stub for the optional private CUDA module ttc_fast._C_cuda (csrc/cuda/bindings_cuda.cpp). Keep in sync.
vote_max_samples: int

def vote(answer_ids: int, num_problems: int, num_samples: int, winner: int, winner_count: int,
         runner_up_count: int, cluster_ids: int, cluster_sizes: int, abstentions: int, stream: int) -> None: ...
