// spectromine/spectromine.hpp: the umbrella header (core and the components
// with no optional dependency). Optional parts need their own include and
// component: io/tiff.hpp (spectromine::tiff), io/hdf5.hpp (spectromine::hdf5),
// io/png.hpp (spectromine::png), parallel/mpi.hpp (spectromine::mpi).
#pragma once

#include "spectromine/version.hpp"
#include "spectromine/error.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_traits.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/core/memory_size.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/text.hpp"
