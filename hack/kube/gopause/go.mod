module github.com/runplane/runplane/hack/kube/gopause

go 1.23.0
