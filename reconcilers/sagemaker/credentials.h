// The SageMaker client's AWS credentials and region: the chain of reconcilers/common/aws_credentials.h
// (shared with Iceberg's s3:// storage), under the names the SageMaker code uses.
#pragma once

#include "reconcilers/common/aws_credentials.h"

namespace converge::sagemaker {

using aws::Environment;
using aws::ResolveCredentials;
using aws::ResolveRegion;

}  // namespace converge::sagemaker
