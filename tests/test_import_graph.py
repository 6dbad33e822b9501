from tests.import_graph import import_circles, import_graph


def test_the_project_has_no_import_circle():
    assert import_circles() == []


def test_imports_inside_functions_are_edges_too():
    # The broadcaster imports the task that ends a push window inside a function.
    assert "whatsmassive.tasks" in import_graph()["whatsmassive.realtime"]


def test_a_circle_closed_inside_a_function_is_found():
    graph = {
        "shop.selectors": {"shop.services"},
        "shop.services": {"shop.engine"},
        "shop.engine": {"shop.selectors"},
        "shop.views": {"shop.services"},
    }
    assert import_circles(graph) == [["shop.engine", "shop.selectors", "shop.services"]]


def test_a_module_queueing_its_own_apps_task_is_no_circle():
    graph = {"shop.services": {"shop.tasks"}, "shop.tasks": {"shop.services"}}
    assert import_circles(graph) == []


def test_a_task_of_another_app_calling_back_is_a_circle():
    graph = {"shop.services": {"stock.tasks"}, "stock.tasks": {"shop.services"}}
    assert import_circles(graph) == [["shop.services", "stock.tasks"]]
